using System.Text.RegularExpressions;
using System.Xml.Linq;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Sweep;

namespace MoESdk.Tests.Sweep;

/// <summary>The sweep's grid, its frontier and the page that charts it.</summary>
[Trait("Category", "Unit")]
public partial class FrontierTests
{
    private static SweepPoint Point(string recipe, double ratio, double speedup, double? kept = 0.8, string method = "cluster") =>
        new(recipe, method, 8, 2, 0, "analytic", 0, 0.25, 0.25, 28.8, 28.8 * ratio, ratio, 0.5, kept, speedup, 1.0, 3.0);

    [Fact]
    public void TheFrontierHoldsThePointsNoOtherBeatsOnBoth()
    {
        SweepPoint slowGood = Point("a", 1.2, 1.1), fastBad = Point("b", 2.0, 1.6), beaten = Point("c", 2.1, 1.0), middle = Point("d", 1.5, 1.4),
            beatenOnSpeedOnly = Point("e", 1.5, 1.3);

        IReadOnlyList<SweepPoint> frontier = Frontier.Of([beaten, fastBad, middle, slowGood, beatenOnSpeedOnly]);

        Assert.Equal(["a", "d", "b"], frontier.Select(p => p.Recipe));
    }

    [Fact]
    public void TheFastestWithinATargetIsNamedAndNoneWhenNothingIsWithin()
    {
        SweepPoint[] points = [Point("a", 1.2, 1.1), Point("b", 2.0, 1.6), Point("d", 1.5, 1.4)];

        Assert.Equal("d", Frontier.FastestWithin(points, 1.5)!.Recipe);
        Assert.Equal("b", Frontier.FastestWithin(points, 3)!.Recipe);
        Assert.Null(Frontier.FastestWithin(points, 1.1));
    }

    [Fact]
    public void EachBudgetIsTheSameShareOfSlicesForEveryMethod()
    {
        var config = new ModelConfig { Architecture = "LlamaForCausalLM", HiddenSize = 256, IntermediateSize = 768, NumLayers = 5, NumHeads = 8, NumKeyValueHeads = 4, VocabSize = 2048, MaxPositions = 512 };

        (IReadOnlyList<SweepRecipe> recipes, IReadOnlyList<string> skipped) = SweepGrid.For(config, [0.25, 0.5], [MoEMethod.Factor, MoEMethod.Coact, MoEMethod.ToMoE], [8, 32, 7], []);

        Assert.Equal(
        [
            "--method factor --experts 8 --experts-per-token 2", "--method factor --experts 32 --experts-per-token 8",
            "--method coact --experts 7 --experts-per-token 1 --shared-experts 1", "--method coact --experts 31 --experts-per-token 7 --shared-experts 1",
            "--method tomoe --experts 8 --experts-per-token 1 --budget 0.25", "--method tomoe --experts 32 --experts-per-token 1 --budget 0.25", "--method tomoe --experts 7 --experts-per-token 1 --budget 0.25",
            "--method factor --experts 8 --experts-per-token 4", "--method factor --experts 32 --experts-per-token 16",
            "--method coact --experts 7 --experts-per-token 3 --shared-experts 1", "--method coact --experts 31 --experts-per-token 15 --shared-experts 1",
            "--method tomoe --experts 8 --experts-per-token 1 --budget 0.5", "--method tomoe --experts 32 --experts-per-token 1 --budget 0.5", "--method tomoe --experts 7 --experts-per-token 1 --budget 0.5",
        ], recipes.Select(r => r.Flags));
        Assert.Equal(4, skipped.Count);
        Assert.All(skipped, reason => Assert.Contains("768 does not divide into 7", reason));
        Assert.All(recipes, r => r.Options(seed: 0).Validate(config));
    }

    [Fact]
    public void RoutersMultiplyThePartitionRecipesOnly()
    {
        var config = new ModelConfig { Architecture = "LlamaForCausalLM", HiddenSize = 64, IntermediateSize = 128, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 4, VocabSize = 100, MaxPositions = 64 };

        (IReadOnlyList<SweepRecipe> recipes, _) = SweepGrid.For(config, [0.25], [MoEMethod.Cluster, MoEMethod.ToMoE], [8], [MoERouter.Analytic, MoERouter.Par]);

        Assert.Equal(["--method cluster --experts 8 --experts-per-token 2 --router analytic", "--method cluster --experts 8 --experts-per-token 2 --router par", "--method tomoe --experts 8 --experts-per-token 1 --budget 0.25"],
            recipes.Select(r => r.Flags));
    }

    [Fact]
    public void ThePageChartsEveryPointInWellFormedSvgAndDrawsTheFrontierAndTarget()
    {
        SweepPoint[] points = [Point("a", 1.2, 1.1, method: "coact"), Point("b", 2.0, 1.6), Point("c", 2.1, 1.0, kept: null, method: "tomoe"), Point("d", 1.5, 1.4)];
        var inputs = new SweepInputs("model <x>", "0", "1", "2", 0);

        string html = FrontierPage.Render(inputs, points, maxPerplexityRatio: 1.6);

        XElement[] charts = Svg().Matches(html).Select(m => XElement.Parse(m.Value)).ToArray();
        Assert.Equal(2, charts.Length);
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(4, charts[0].Descendants(svg + "g").Count(g => (string?)g.Attribute("class") == "point"));
        // The accuracy chart leaves out the point that has no accuracy.
        Assert.Equal(3, charts[1].Descendants(svg + "g").Count(g => (string?)g.Attribute("class") == "point"));
        string frontier = (string)charts[0].Descendants(svg + "polyline").Single().Attribute("points")!;
        Assert.Equal(3, frontier.Split(' ').Length);
        Assert.Contains("target 1.6", charts[0].Value);
        Assert.Contains("Fastest recipe within a perplexity ratio of 1.6: <code>d</code>", html);
        Assert.Contains("model &lt;x&gt;", html);
        Assert.DoesNotContain("<script", html);
    }

    [GeneratedRegex("<svg.*?</svg>", RegexOptions.Singleline)]
    private static partial Regex Svg();
}
