using System.Security.Cryptography;
using System.Text;
using MoESdk.Adaptation;
using MoESdk.Artifacts;
using MoESdk.Evaluation;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Adaptation;

[Trait("Category", "Unit")]
public class ExpertAdapterTests(SmallMoEArtifact artifact) : IClassFixture<SmallMoEArtifact>
{
    private static readonly string DomainText = SmallMoEArtifact.Text("new-testament.txt", 12_000);

    private static AdaptationOptions Recipe(ExpertSelection experts) => new()
    {
        Experts = experts,
        Steps = 40,
        LearningRate = 1e-2,
        BatchSize = 4,
        SequenceLength = 32,
        Seed = 5,
    };

    private static double DomainLoss(LanguageModel model)
    {
        IReadOnlyList<int> tokens = model.RequireTokenizer().Encode(DomainText, addBos: false);
        return ModelEvaluator.Perplexity(model.Model, new TokenWindows(tokens, 32, 24)).MeanNegativeLogLikelihood;
    }

    /// <summary>Every tensor of the artifact at <paramref name="path"/>, copied out of the model.</summary>
    private static Dictionary<string, Tensor> Weights(string path)
    {
        using LanguageModel model = LanguageModel.Open(path);
        return model.Model.NamedWeights().ToDictionary(w => w.Key, w => w.Value.detach().clone().DetachFromDisposeScope());
    }

    [Fact]
    public void AdaptingLowersTheDomainLossOnItsTrainingText()
    {
        using LanguageModel model = LanguageModel.Open(artifact.ArtifactPath);
        double before = DomainLoss(model);

        AdaptationResult result = new ExpertAdapter(Recipe(ExpertSelection.Auto())).Adapt(model, AdaptationCorpus.FromText("domain.txt", DomainText));

        double after = DomainLoss(model);
        // A random model's FFN contributes little, so 40 steps move the loss by tenths of a nat, not more.
        Assert.True(after < before - 0.15, $"domain loss {before:F3} → {after:F3}");
        Assert.True(result.Training.FinalLoss < result.Training.InitialLoss, $"training loss {result.Training.InitialLoss:F3} → {result.Training.FinalLoss:F3}");
        Assert.Equal(40, result.Training.Losses.Count);
    }

    [Fact]
    public void OnlyTheChosenExpertsAndTheirRoutersChangeAndTheManifestSaysSo()
    {
        string adaptedPath = artifact.File($"adapted-{Guid.NewGuid():N}.moe");
        AdaptationRecord record;
        using (LanguageModel model = LanguageModel.Open(artifact.ArtifactPath))
        {
            record = new ExpertAdapter(Recipe(ExpertSelection.Parse("0:1,0:3"))).Adapt(model, AdaptationCorpus.FromText("domain.txt", DomainText)).Record;
            ExpertAdapter.Save(model, record, adaptedPath);
        }

        Dictionary<string, Tensor> before = Weights(artifact.ArtifactPath), after = Weights(adaptedPath);
        var expectedChanged = new HashSet<string> { MoEWeightNames.Router(0) };
        foreach (int expert in new[] { 1, 3 })
        {
            expectedChanged.UnionWith([MoEWeightNames.ExpertGate(0, expert), MoEWeightNames.ExpertUp(0, expert), MoEWeightNames.ExpertDown(0, expert)]);
        }
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        var changed = before.Keys.Where(name => !before[name].IsIdenticalTo(after[name])).ToHashSet();
        Assert.Equal(expectedChanged.Order(), changed.Order());

        MoEManifest manifest = MoEArtifact.ReadManifest(adaptedPath);
        Assert.Null(MoEArtifact.ReadManifest(artifact.ArtifactPath).Adaptation);
        AdaptationRecord written = manifest.Adaptation!;
        Assert.Equal("explicit", written.Selection);
        Assert.Equal([(0, 1), (0, 3)], written.Experts.Select(e => (e.Layer, e.Expert)));
        Assert.Equal([0], written.Routers);
        Assert.Equal(40, written.Steps);
        Assert.Equal(1e-2, written.LearningRate);
        byte[] bytes = Encoding.UTF8.GetBytes(DomainText);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), written.Data.Sha256);
        Assert.Equal(bytes.LongLength, written.Data.Bytes);
        long expertParameters = 3L * 32 * SmallMoEArtifact.Config.HiddenSize;
        Assert.Equal(2 * expertParameters + 4L * SmallMoEArtifact.Config.HiddenSize, written.TrainedParameters);
        Assert.Equal(record, written with { Experts = record.Experts, Routers = record.Routers });
    }

    [Fact]
    public void AutoPicksEachLayersTopKBusiestExpertsOnTheDomainText()
    {
        using LanguageModel model = LanguageModel.Open(artifact.ArtifactPath);
        IReadOnlyList<int> tokens = model.RequireTokenizer().Encode(DomainText, addBos: false);
        RoutingProfile profile = RoutingProfile.Collect(model.Model, tokens, 32, 64);

        AdaptationRecord record = new ExpertAdapter(Recipe(ExpertSelection.Auto()) with { ProfileWindows = 64 })
            .Adapt(model, AdaptationCorpus.FromText("domain.txt", DomainText)).Record;

        for (int layer = 0; layer < 2; layer++)
        {
            double[] shares = profile.Shares(layer);
            int[] busiest = [.. Enumerable.Range(0, 4).OrderByDescending(e => shares[e]).ThenBy(e => e).Take(2).Order()];
            Assert.Equal(busiest, record.Experts.Where(e => e.Layer == layer).Select(e => e.Expert));
            Assert.All(record.Experts.Where(e => e.Layer == layer), e => Assert.Equal(shares[e.Expert], e.DomainShare!.Value, 12));
        }
        Assert.Equal([0, 1], record.Routers);
        Assert.Equal("auto", record.Selection);
    }

    [Fact]
    public void RoutingProfileCountsEveryTokensTopKChoices()
    {
        using LanguageModel model = LanguageModel.Open(artifact.ArtifactPath);
        IReadOnlyList<int> tokens = model.RequireTokenizer().Encode(DomainText, addBos: false);
        RoutingProfile profile = RoutingProfile.Collect(model.Model, tokens, 32, 10);

        Assert.Equal(320, profile.Tokens.Count);
        Assert.Equal(tokens.Take(320), profile.Tokens);
        for (int layer = 0; layer < 2; layer++)
        {
            Assert.Equal(640, profile.Counts(layer).Sum());
            Assert.Equal(1.0, profile.Shares(layer).Sum(), 9);
            Assert.Equal(profile.Counts(layer).Max() / profile.Counts(layer).Average(), profile.Imbalance(layer));
            for (int position = 0; position < 320; position++)
            {
                ReadOnlySpan<int> chosen = profile.ChosenExperts(layer, position);
                Assert.Equal(2, chosen.Length);
                Assert.NotEqual(chosen[0], chosen[1]);
            }
        }

        ExpertUsageReport usage = ExpertUsageReport.Build(profile, model.RequireTokenizer());
        Assert.Equal(320, usage.Tokens);
        foreach (LayerUsage layer in usage.Layers)
        {
            Assert.Equal(profile.Counts(layer.Layer), layer.Experts.Select(e => e.Count));
            Assert.All(layer.Experts, e => Assert.True(e.TopTokens.Sum(t => t.Count) <= e.Count));
            Assert.All(layer.Experts, e => Assert.All(e.TopTokens, t => Assert.InRange(t.OfOccurrences, 0.0, 1.0)));
        }
    }

    [Fact]
    public void DenseBaselineTunesOnlyTheFeedForwardBlocks()
    {
        Dictionary<string, Tensor> before = Weights(artifact.DensePath);
        using LanguageModel dense = LanguageModel.Open(artifact.DensePath);
        double lossBefore = DomainLoss(dense);

        FineTuningResult result = new DenseFeedForwardFineTuner(Recipe(ExpertSelection.Auto())).Tune(dense, AdaptationCorpus.FromText("domain.txt", DomainText));

        double lossAfter = DomainLoss(dense);
        Assert.True(lossAfter < lossBefore - 0.15, $"domain loss {lossBefore:F3} → {lossAfter:F3}");
        var ffn = Enumerable.Range(0, 2).SelectMany(i => new[] { WeightNames.Gate(i), WeightNames.Up(i), WeightNames.Down(i) }).ToHashSet();
        foreach ((string name, Tensor tensor) in dense.Model.NamedWeights())
        {
            Assert.True(ffn.Contains(name) != tensor.IsIdenticalTo(before[name]), name);
        }
        Assert.Equal(2L * 3 * 128 * 64, result.TrainedParameters);
        Assert.All(dense.Model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void BadSelectionsAndModelsAreRejectedWithTheFix()
    {
        using LanguageModel model = LanguageModel.Open(artifact.ArtifactPath);
        var corpus = AdaptationCorpus.FromText("domain.txt", DomainText);

        var missing = Assert.Throws<ArgumentException>(() => new ExpertAdapter(Recipe(ExpertSelection.Parse("1:7"))).Adapt(model, corpus));
        Assert.Contains("experts 0..3", missing.Message);
        Assert.Contains("layers 0..1", Assert.Throws<ArgumentException>(() => new ExpertAdapter(Recipe(ExpertSelection.Parse("2:0"))).Adapt(model, corpus)).Message);
        Assert.Contains("layer:expert", Assert.Throws<ArgumentException>(() => ExpertSelection.Parse("0-1")).Message);
        Assert.Contains("training window", Assert.Throws<ArgumentException>(() => new ExpertAdapter(Recipe(ExpertSelection.Auto())).Adapt(model, AdaptationCorpus.FromText("tiny.txt", "In the beginning"))).Message);
        Assert.Contains("Steps", Assert.Throws<ArgumentException>(() => new ExpertAdapter(Recipe(ExpertSelection.Auto()) with { Steps = 0 })).Message);

        using LanguageModel dense = LanguageModel.Open(artifact.DensePath);
        Assert.Contains("moe convert", Assert.Throws<ArgumentException>(() => new ExpertAdapter(Recipe(ExpertSelection.Auto())).Adapt(dense, corpus)).Message);
        Assert.Contains("dense", Assert.Throws<ArgumentException>(() => new DenseFeedForwardFineTuner(Recipe(ExpertSelection.Auto())).Tune(model, corpus)).Message);
    }
}
