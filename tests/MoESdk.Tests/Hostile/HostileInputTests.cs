using System.Buffers.Binary;
using System.Text.Json.Nodes;
using MoESdk.Artifacts;
using MoESdk.Inference;
using MoESdk.Loading;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Hostile;

/// <summary>
/// Files that once ran away with memory, loaded garbage silently or crashed with a stack trace: each now gives
/// one clear <see cref="ModelFormatException"/> naming the file and the problem, or a correct result.
/// </summary>
[Trait("Category", "Unit")]
public class HostileInputTests
{
    private const long AllocationBudget = 64L << 20;

    private static ModelFormatException Refused(Func<object> load, params string[] mentions)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelFormatException error = Assert.Throws<ModelFormatException>(() => (load() as IDisposable)?.Dispose());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < AllocationBudget, "refusing the file allocated more than 64 MB");
        Assert.DoesNotContain('\n', error.Message);
        foreach (string mention in mentions)
        {
            Assert.Contains(mention, error.Message, StringComparison.Ordinal);
        }
        return error;
    }

    [Theory]
    [InlineData(10_000_000)]
    [InlineData(2_000_000_000)]
    public void AHugeContextCostsOnlyThePositionsASessionUses(int maxPositions)
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config => config["max_position_embeddings"] = maxPositions);

        using LanguageModel model = LanguageModel.Open(folder.Path);
        using var session = new InferenceSession(model.Model);
        int[] generated = session.Generate([1, 2, 3], new GenerationOptions { MaxTokens = 20, Sampling = new SamplingOptions { Temperature = 0 } }).ToArray();

        Assert.Equal(20, generated.Length);
        Assert.Equal(maxPositions, session.ContextLength);
        Assert.True(model.Model.Rotary.Covering(1).Positions <= 256, "RoPE tables were sized to the config's maximum");
    }

    [Fact]
    public void ASessionPastItsFirstTablesGrowsThemAndMatchesTheFullForward()
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config => config["max_position_embeddings"] = 1_000);
        using LanguageModel model = LanguageModel.Open(folder.Path);
        int[] tokens = Enumerable.Range(0, 300).Select(i => (i * 7) % HostileModels.Config.VocabSize).ToArray();

        using var session = new InferenceSession(model.Model);
        session.Feed(tokens[..200]);
        float[] stepped = [];
        foreach (int token in tokens[200..])
        {
            stepped = session.Feed([token]).ToArray();
        }
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        float[] full = model.Model.forward(tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Length]))[0, -1].data<float>().ToArray();

        Assert.True(model.Model.Rotary.Covering(1).Positions >= 300);
        Assert.Equal(full, stepped, (a, b) => Math.Abs(a - b) < 1e-4);
    }

    [Fact]
    public void ABillionLayersIsRefusedBeforeAnyPerLayerList()
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config => config["num_hidden_layers"] = 1_000_000_000);

        Refused(() => ModelLoader.Load(folder.Path), "num_hidden_layers is 1000000000", "2 decoder layers", "model.safetensors");
    }

    [Fact]
    public void FewerLayersThanTheFileHoldsIsRefusedNamingTheExtraTensors()
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config => config["num_hidden_layers"] = 1);

        Refused(() => ModelLoader.Load(folder.Path), "holds 2 decoder layers", "model.layers.1.", "num_hidden_layers is 1");
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+infinity")]
    [InlineData(float.NegativeInfinity, "-infinity")]
    public void NonFiniteHuggingFaceWeightsAreRefusedNamingFileTensorAndIndex(float value, string shown)
    {
        using var folder = new TempFolder();
        string up = WeightNames.Up(1);
        HostileModels.HuggingFace(folder, editWeights: tensors => tensors[up] = HostileModels.With(tensors[up], 5 * 32 + 7, value));

        Refused(() => ModelLoader.Load(folder.Path), "model.safetensors", $"'{up}'", $"holds {shown} at index [5, 7]");
        using LoadedModel trusted = ModelLoader.Load(folder.Path, new LoadOptions { TrustWeights = true });
        float loaded = trusted.Weights.Tensors[up][5, 7].item<float>();
        Assert.True(float.IsNaN(value) ? float.IsNaN(loaded) : loaded == value);
    }

    [Fact]
    public void NonFiniteWeightsStoredAsBFloat16AreRefusedToo()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(HostileModels.Config, seed: 4);
        var tensors = new Dictionary<string, Tensor>(weights.Tensors) { [WeightNames.Embedding] = HostileModels.With(weights.Tensors[WeightNames.Embedding], 40, float.NaN) };
        SafeTensorsWriter.Write(folder.File(SafeTensorsCheckpoint.SingleFileName), tensors, storeAs: ScalarType.BFloat16);
        HuggingFaceConfig.Write(folder.File(HuggingFaceConfig.FileName), HostileModels.Config);

        Refused(() => ModelLoader.Load(folder.Path), WeightNames.Embedding, "NaN at index [1, 8]");
    }

    [Fact]
    public void NonFiniteLlama2cWeightsAreRefused()
    {
        using var folder = new TempFolder();
        string path = HostileModels.Llama2c(folder, tensors => tensors[WeightNames.FinalNorm] = HostileModels.With(tensors[WeightNames.FinalNorm], 3, float.PositiveInfinity));

        Refused(() => ModelLoader.Load(path), "model.bin", WeightNames.FinalNorm, "at index [3]");
        using LoadedModel trusted = ModelLoader.Load(path, new LoadOptions { TrustWeights = true });
    }

    [Fact]
    public void ANonFiniteRouterInAnArtifactIsRefused()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("nan.moe");
        HostileModels.Artifact(artifact, weights =>
        {
            using Tensor flat = weights[MoEWeightNames.Router(1)].view(-1);
            flat[9] = float.NaN;
        });

        Refused(() => LanguageModel.Open(artifact), "model.safetensors", MoEWeightNames.Router(1), "NaN at index [0, 9]");
        using LanguageModel trusted = LanguageModel.Open(artifact, new LoadOptions { TrustWeights = true });
    }

    [Fact]
    public void TheScanFindsTheFirstNonFiniteValueAtEveryPosition()
    {
        var values = new float[1000];
        Assert.Equal(-1, FiniteWeights.IndexOfNonFinite(values));
        foreach (int index in new[] { 0, 7, 8, 511, 512, 513, 999 })
        {
            values[index] = float.NaN;
            values[Math.Min(999, index + 3)] = float.PositiveInfinity;
            Assert.Equal(index, FiniteWeights.IndexOfNonFinite(values));
            Array.Clear(values);
        }
        values[600] = float.MaxValue;
        values[601] = float.Epsilon;
        Assert.Equal(-1, FiniteWeights.IndexOfNonFinite(values));
    }

    [Theory]
    [InlineData("[0, 64]", "[0, 64]")]
    [InlineData("[0, 64]", "[32, 96]")]
    [InlineData("[32, 96]", "[0, 64]")]
    public void SafetensorsEntriesSharingBytesAreRefused(string first, string second)
    {
        using var folder = new TempFolder();
        string path = folder.File("overlap.safetensors");
        HostileModels.RawSafetensors(path,
            $"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":{first}}},\"b\":{{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":{second}}}}}", 96);

        Refused(() => SafeTensorsFile.Open(path), "'a'", "'b'", "share bytes");
    }

    [Fact]
    public void AdjacentAndEmptySafetensorsEntriesStillLoad()
    {
        using var folder = new TempFolder();
        string path = folder.File("adjacent.safetensors");
        HostileModels.RawSafetensors(path,
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[0,64]},\"b\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[64,128]},\"c\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[64,64]}}", 128);

        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal(3, file.Entries.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    public void ARopeScalingFactorThatIsNotPositiveIsRefused(double factor)
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config => config["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = factor });

        Refused(() => ModelLoader.Load(folder.Path), "config.json", "rope_scaling.factor", "positive");
    }

    [Fact]
    public void Llama2cHeaderDimensionsOfTwoToTheThirtyAreAFormatError()
    {
        using var folder = new TempFolder();
        string path = folder.File("huge.bin");
        var header = new byte[7 * sizeof(int) + 64];
        int[] fields = [1 << 30, 1 << 30, 1 << 30, 1 << 10, 1 << 10, 1 << 30, 1 << 30];
        for (int i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(i * sizeof(int)), fields[i]);
        }
        File.WriteAllBytes(path, header);

        Refused(() => ModelLoader.Load(path), "huge.bin", "dim 1073741824");
    }

    [Fact]
    public void ManifestLayersOfNullAreAFormatError()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        HostileModels.EditManifest(artifact, m => m["layers"] = new JsonArray(null, null));

        Refused(() => LanguageModel.Open(artifact), "moe.json", "layers[0] is null");
    }

    [Theory]
    [InlineData("method")]
    [InlineData("architecture")]
    [InlineData("source")]
    [InlineData("name")]
    [InlineData("layers")]
    [InlineData("tokenizerFiles")]
    public void ANullManifestFieldIsAFormatErrorNamingIt(string field)
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        HostileModels.EditManifest(artifact, m => m[field] = null);

        Refused(() => MoEArtifact.ReadManifest(artifact), "moe.json", $"\"{field}\"");
    }

    [Fact]
    public void NullWeightsInTheManifestSayWhatIsWrong()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        HostileModels.EditManifest(artifact, m => m["weights"] = null);

        ModelFormatException error = Refused(() => LanguageModel.Open(artifact), "moe.json", "\"weights\" must name a file inside the artifact folder");
        Assert.DoesNotContain("path2", error.Message);
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../x.safetensors")]
    public void ManifestPathsLeadingOutOfTheArtifactAreRefused(string weights)
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        File.Copy(Path.Combine(artifact, "model.safetensors"), folder.File("outside.safetensors"));
        HostileModels.EditManifest(artifact, m => m["weights"] = weights);

        Refused(() => LanguageModel.Open(artifact), "moe.json", "points outside the artifact folder");
    }

    [Fact]
    public void ATokenizerFileLeadingOutOfTheArtifactIsRefused()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);
        HostileModels.EditManifest(artifact, m => m["tokenizerFiles"] = new JsonArray("../../tokenizer.json"));

        Refused(() => MoEArtifact.ReadManifest(artifact), "\"tokenizerFiles\"", "points outside");
    }

    [Fact]
    public void AValidArtifactStillOpens()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("a.moe");
        HostileModels.Artifact(artifact);

        using LanguageModel model = LanguageModel.Open(artifact);
        Assert.NotNull(model.Manifest);
    }
}
