using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class MoEConverterTests
{
    public static TheoryData<MoEMethod, MoERouter?> Recipes => new()
    {
        { MoEMethod.Factor, MoERouter.Analytic }, { MoEMethod.Factor, null }, { MoEMethod.Cluster, null }, { MoEMethod.Coact, null }, { MoEMethod.ToMoE, null },
    };

    private static ConversionOptions Options(MoEMethod method, MoERouter? router) =>
        TinyModel.Options(method) with { Router = router, Steps = method == MoEMethod.ToMoE || router is null && method == MoEMethod.Factor ? 10 : null };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void ArtifactRoundTripGivesTheSameLogits(MoEMethod method, MoERouter? router)
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
        Assert.True((expected - actual).abs().max().item<float>() < 1e-5f, method.ToString());
    }

    [Fact]
    public void TheActiveShareIsOverTheDenseFeedForwardEvenWhenTheExpertsHoldMore()
    {
        // ToMoE's 8 experts each take the budget's quarter of the FFN's width, twice the dense FFN's weights together, and a
        // token runs one of them: a quarter of the dense FFN (over the converted model's own FFN it would read as an eighth).
        using LlamaModel dense = TinyModel.Dense(seed: 21);
        ConversionResult conversion = MoEConverter.Convert(dense, Options(MoEMethod.ToMoE, null) with { Experts = 8, Budget = 0.25 }, TinyModel.Text(512, seed: 22));
        using LlamaModel moe = conversion.Model;

        double share = conversion.ActiveFeedForwardRatio(dense);

        Assert.InRange(share, 0.25, 0.30);
        Assert.Equal(share, TinyModel.Manifest(dense, conversion).ActiveFeedForwardRatio);
    }

    [Theory]
    [InlineData(MoEMethod.Factor, null, "contiguous", "par", ExpertOutputRule.FixedScale)]
    [InlineData(MoEMethod.Factor, MoERouter.Analytic, "contiguous", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData(MoEMethod.Cluster, null, "cluster", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData(MoEMethod.Coact, null, "coactivation", "analytic", ExpertOutputRule.FixedScale)]
    [InlineData(MoEMethod.Coact, MoERouter.Par, "coactivation", "par", ExpertOutputRule.FixedScale)]
    [InlineData(MoEMethod.ToMoE, null, "masks", "gumbel", ExpertOutputRule.RouterWeighted)]
    public void MethodsPickTheirRecipeAndRecordIt(MoEMethod method, MoERouter? router, string partition, string routerName, ExpertOutputRule rule)
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
        int shared = method == MoEMethod.Coact ? 1 : 0;
        Assert.All(moe.Layers, l => Assert.Equal(shared, ((MixtureOfExpertsFeedForward)l.FeedForward).SharedExperts.Count));
    }

    [Fact]
    public void SameSeedGivesTheSameConversion()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 25);
        int[] text = TinyModel.Text(512, seed: 26);
        using LlamaModel first = MoEConverter.Convert(dense, Options(MoEMethod.Cluster, null), text).Model;
        using LlamaModel second = MoEConverter.Convert(dense, Options(MoEMethod.Cluster, null), text).Model;
        Assert.True(TinyModel.Logits(first).IsIdenticalTo(TinyModel.Logits(second)));
    }

    public static TheoryData<ConversionOptions, string, string> BadOptions => new()
    {
        { TinyModel.Options(MoEMethod.ToMoE) with { Budget = 0 }, "Budget", "ConversionOptions.Budget must be in (0, 1]" },
        { TinyModel.Options(MoEMethod.ToMoE) with { Budget = 1.5 }, "Budget", "ConversionOptions.Budget must be in (0, 1]" },
        { TinyModel.Options(MoEMethod.ToMoE) with { Budget = double.NaN }, "Budget", "ConversionOptions.Budget must be in (0, 1]" },
        { TinyModel.Options(MoEMethod.Factor) with { Budget = 0.5 }, "Budget", "ConversionOptions.Budget applies to tomoe only" },
        { TinyModel.Options(MoEMethod.ToMoE) with { ExpertsPerToken = 2 }, "ExpertsPerToken", "set ConversionOptions.ExpertsPerToken to 1" },
        { TinyModel.Options(MoEMethod.Factor) with { ExpertsPerToken = 5 }, "ExpertsPerToken", "ConversionOptions.ExpertsPerToken (experts run per token) must be between 1 and ConversionOptions.Experts (4), was 5" },
        { TinyModel.Options(MoEMethod.ToMoE) with { Router = MoERouter.Par }, "Router", "leave ConversionOptions.Router unset" },
        { TinyModel.Options(MoEMethod.ToMoE) with { SharedExperts = 1 }, "SharedExperts", "leave ConversionOptions.SharedExperts unset" },
        { TinyModel.Options(MoEMethod.Factor) with { Router = (MoERouter)7 }, "Router", "ConversionOptions.Router 7 is not a router: use one of analytic, par" },
        { TinyModel.Options(MoEMethod.Cluster) with { Distill = true }, "Distill", "ConversionOptions.Distill" },
        { TinyModel.Options(MoEMethod.Factor) with { Steps = -1 }, "Steps", "ConversionOptions.Steps must be 0 or more" },
        { TinyModel.Options((MoEMethod)9), "Method", "ConversionOptions.Method 9 is not a method: use one of factor, cluster, coact, tomoe" },
        { TinyModel.Options(MoEMethod.Factor) with { Experts = 5 }, "Experts", "does not divide" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsAreRejectedByName(ConversionOptions options, string option, string message)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 27);
        var error = Assert.ThrowsAny<ArgumentException>(() => MoEConverter.Convert(dense, options, TinyModel.Text(300, 1)));
        Assert.Equal(option, error.ParamName);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        // The library speaks of its own options, never of a tool's flags.
        Assert.DoesNotContain("--", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOptionErrorNamesTheOptionsInTheCallersVocabulary()
    {
        ConversionOptions options = TinyModel.Options(MoEMethod.Factor) with { Budget = 0.5 };
        var error = Assert.IsType<ConversionOptionException>(Record.Exception(() => options.Validate(TinyModel.Config)));

        Assert.Equal("--budget applies to tomoe only; factor's active share is set by --experts-per-token over --experts.",
            error.MessageIn(option => $"<{option}>").Replace("<Budget>", "--budget").Replace("<ExpertsPerToken>", "--experts-per-token").Replace("<Experts>", "--experts"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    public void TooShortCalibrationIsRejectedBeforeAnyWork(int tokens)
    {
        using LlamaModel dense = TinyModel.Dense(seed: 28);
        var error = Assert.Throws<ArgumentException>(() => MoEConverter.Convert(dense, TinyModel.Options(MoEMethod.Factor), TinyModel.Text(tokens, 1)));
        Assert.Contains("calibration", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
