using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class MoEConverterTests
{
    public static TheoryData<string, string?> Recipes => new()
    {
        { "factor", "analytic" }, { "factor", null }, { "cluster", null }, { "coact", null }, { "tomoe", null },
    };

    private static ConversionOptions Options(string method, string? router) =>
        TinyModel.Options(method) with { Router = router, Steps = method == "tomoe" || router is null && method == "factor" ? 10 : null };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void ArtifactRoundTripGivesTheSameLogits(string method, string? router)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 21);
        ConversionResult conversion = MoEConverter.Convert(dense, Options(method, router), TinyModel.Text(512, seed: 22));
        using LlamaModel moe = conversion.Model;
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "tiny.moe");

        MoEArtifact.Save(path, moe, TinyModel.Manifest(dense, conversion), tokenizerSource: null);
        using LanguageModel opened = MoEArtifact.Open(path);

        Assert.Equal(conversion.Router, opened.Manifest!.Method.Router);
        Assert.Equal(conversion.OutputRule, opened.Manifest.Method.OutputRule);
        Tensor expected = TinyModel.Logits(moe);
        Tensor actual = TinyModel.Logits(opened.Model);
        Assert.True((expected - actual).abs().max().item<float>() < 1e-5f, method);
    }

    [Theory]
    [InlineData("factor", null, "contiguous", "par", ExpertOutputRule.FixedScale)]
    [InlineData("factor", "analytic", "contiguous", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData("cluster", null, "cluster", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData("coact", null, "coactivation", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData("coact", "par", "coactivation", "par", ExpertOutputRule.FixedScale)]
    [InlineData("tomoe", null, "masks", "gumbel", ExpertOutputRule.RouterWeighted)]
    public void MethodsPickTheirRecipeAndRecordIt(string method, string? router, string partition, string routerName, ExpertOutputRule rule)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 23);
        ConversionOptions options = TinyModel.Options(method) with { Router = router, Steps = 2, Seed = 7 };
        ConversionResult conversion = MoEConverter.Convert(dense, options, TinyModel.Text(300, seed: 24));
        using LlamaModel moe = conversion.Model;

        Assert.Equal(partition, conversion.Partition);
        Assert.Equal(routerName, conversion.Router);
        Assert.Equal(rule, conversion.OutputRule);
        Assert.Equal(routerName, conversion.Parameters["router"]);
        Assert.Equal("7", conversion.Parameters["seed"]);
        Assert.Equal(routerName == "analytic" ? "0" : "2", conversion.Parameters["steps"]);
        Assert.Equal(300, conversion.CalibrationTokens);
        if (routerName != "analytic")
        {
            Assert.Contains("learningRate", conversion.Parameters.Keys);
            Assert.Contains("lastLoss", conversion.Parameters.Keys);
        }
        int shared = method == "coact" ? 1 : 0;
        Assert.All(moe.Layers, l => Assert.Equal(shared, ((MixtureOfExpertsFeedForward)l.FeedForward).SharedExperts.Count));
    }

    [Fact]
    public void SameSeedGivesTheSameConversion()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 25);
        int[] text = TinyModel.Text(512, seed: 26);
        using LlamaModel first = MoEConverter.Convert(dense, Options("cluster", null), text).Model;
        using LlamaModel second = MoEConverter.Convert(dense, Options("cluster", null), text).Model;
        Assert.True(TinyModel.Logits(first).IsIdenticalTo(TinyModel.Logits(second)));
    }

    public static TheoryData<ConversionOptions, string> BadOptions => new()
    {
        { TinyModel.Options("tomoe") with { Budget = 0 }, "--budget" },
        { TinyModel.Options("tomoe") with { Budget = 1.5 }, "--budget" },
        { TinyModel.Options("tomoe") with { Budget = double.NaN }, "--budget" },
        { TinyModel.Options("factor") with { Budget = 0.5 }, "--budget applies to tomoe only" },
        { TinyModel.Options("tomoe") with { TopK = 2 }, "--top-k 1" },
        { TinyModel.Options("tomoe") with { Router = "par" }, "--router" },
        { TinyModel.Options("tomoe") with { SharedExperts = 1 }, "--shared-experts" },
        { TinyModel.Options("factor") with { Router = "magic" }, "Unknown router 'magic'" },
        { TinyModel.Options("cluster") with { Distill = true }, "--distill" },
        { TinyModel.Options("factor") with { Steps = -1 }, "--steps" },
        { TinyModel.Options("mixtral"), "Unknown method 'mixtral'" },
        { TinyModel.Options("factor") with { Experts = 5 }, "does not divide" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsAreRejectedByName(ConversionOptions options, string message)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 27);
        var error = Assert.Throws<ArgumentException>(() => MoEConverter.Convert(dense, options, TinyModel.Text(300, 1)));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    public void TooShortCalibrationIsRejectedBeforeAnyWork(int tokens)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 28);
        var error = Assert.Throws<ArgumentException>(() => MoEConverter.Convert(dense, TinyModel.Options("factor"), TinyModel.Text(tokens, 1)));
        Assert.Contains("calibration", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
