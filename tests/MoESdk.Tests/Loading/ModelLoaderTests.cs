using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

[Trait("Category", "Unit")]
public class ModelLoaderTests
{
    private static readonly ModelConfig Config = Llama2cCheckpointTests.SmallConfig(tied: false);

    /// <summary>A Hugging Face folder: config.json plus model.safetensors holding <paramref name="tensors"/>.</summary>
    private static void WriteHuggingFaceFolder(TempFolder folder, ModelConfig config, IReadOnlyDictionary<string, Tensor> tensors, ScalarType? storeAs = null)
    {
        HuggingFaceConfig.Write(folder.File(HuggingFaceConfig.FileName), config);
        SafeTensorsWriter.Write(folder.File(SafeTensorsCheckpoint.SingleFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" }, storeAs);
    }

    private static void AssertSameWeights(ModelWeights expected, ModelWeights actual)
    {
        Assert.Equal(expected.Tensors.Keys.Order(), actual.Tensors.Keys.Order());
        foreach ((string name, Tensor tensor) in expected.Tensors)
        {
            Tensor loaded = actual.Tensors[name];
            Assert.Equal(ScalarType.Float32, loaded.dtype);
            Assert.False(loaded.requires_grad);
            Assert.True(tensor.IsIdenticalTo(loaded), name);
        }
    }

    [Fact]
    public void LoadsAFolderWithConfigAndSafetensors()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 3);
        WriteHuggingFaceFolder(folder, Config, weights.Tensors);

        using LoadedModel model = ModelLoader.Load(folder.Path);

        Assert.Equal(Config with { RmsNormEpsilon = 0, EosTokenIds = [] }, model.Config with { RmsNormEpsilon = 0, EosTokenIds = [] });
        AssertSameWeights(weights, model.Weights);
    }

    [Fact]
    public void LoadsASafetensorsFileBesideItsConfig()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 3);
        WriteHuggingFaceFolder(folder, Config, weights.Tensors);

        using LoadedModel model = ModelLoader.Load(folder.File(SafeTensorsCheckpoint.SingleFileName));

        AssertSameWeights(weights, model.Weights);
    }

    [Fact]
    public void LoadsAShardedFolder()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 4);
        HuggingFaceConfig.Write(folder.File(HuggingFaceConfig.FileName), Config);
        var shardOf = weights.Tensors.Keys.ToDictionary(name => name, name => name.Contains("layers.1.", StringComparison.Ordinal) ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors");
        foreach (IGrouping<string, string> shard in shardOf.Keys.GroupBy(name => shardOf[name]))
        {
            SafeTensorsWriter.Write(folder.File(shard.Key), shard.ToDictionary(name => name, name => weights.Tensors[name]));
        }
        File.WriteAllText(folder.File(SafeTensorsCheckpoint.IndexFileName),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = shardOf }));

        using LoadedModel model = ModelLoader.Load(folder.Path);

        AssertSameWeights(weights, model.Weights);
    }

    [Fact]
    public void LoadsALlama2cCheckpoint()
    {
        using LoadedModel model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "data", "llama2c", "rand-mha-unshared.bin"));

        Assert.Equal(2, model.Config.NumLayers);
        WeightLayout.Validate(model.Weights, model.Config);
    }

    [Fact]
    public void Bf16CheckpointLoadsAsFloat32()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 5);
        WriteHuggingFaceFolder(folder, Config, weights.Tensors, ScalarType.BFloat16);

        using LoadedModel model = ModelLoader.Load(folder.Path);

        using var scope = NewDisposeScope();
        Tensor expected = weights.Tensors[WeightNames.Gate(1)].to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, model.Weights.Tensors[WeightNames.Gate(1)].dtype);
        Assert.True(model.Weights.Tensors[WeightNames.Gate(1)].IsIdenticalTo(expected));
    }

    [Fact]
    public void TiedModelDoesNotDuplicateAStoredHeadAndIgnoresBuffers()
    {
        using var folder = new TempFolder();
        ModelConfig tied = Config with { TieWordEmbeddings = true };
        using ModelWeights weights = WeightLayout.Random(Config, seed: 6);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(weights.Tensors) { [WeightNames.Layer(0, "self_attn.rotary_emb.inv_freq")] = ones(4) };
        WriteHuggingFaceFolder(folder, tied, tensors);

        using LoadedModel model = ModelLoader.Load(folder.Path);

        Assert.True(model.Config.TieWordEmbeddings);
        Assert.False(model.Weights.Contains(WeightNames.Head));
        Assert.Equal(WeightLayout.Expected(tied).Count, model.Weights.Tensors.Count);
    }

    [Fact]
    public void Qwen2LoadsItsAttentionBiases()
    {
        using var folder = new TempFolder();
        ModelConfig qwen = Config with { Architecture = "Qwen2ForCausalLM", AttentionBias = true };
        using ModelWeights weights = WeightLayout.Random(qwen, seed: 8);
        WriteHuggingFaceFolder(folder, qwen, weights.Tensors);

        using LoadedModel model = ModelLoader.Load(folder.Path);

        Assert.True(model.Config.AttentionBias);
        Assert.Equal(new long[] { 16 }, model.Weights.Tensors[WeightNames.KeyBias(1)].shape);
        AssertSameWeights(weights, model.Weights);
    }

    [Fact]
    public void WrongProjectionShapeNamesTensorAndShapes()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 9);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(weights.Tensors) { [WeightNames.Query(1)] = zeros(16, 32) };
        WriteHuggingFaceFolder(folder, Config, tensors);

        var error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path));

        Assert.Equal(folder.File(SafeTensorsCheckpoint.SingleFileName), error.Path);
        Assert.Contains("'model.layers.1.self_attn.q_proj.weight' has shape [16, 32], expected [32, 32]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingHeadSuggestsTyingTheEmbeddings()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config with { TieWordEmbeddings = true }, seed: 9);
        WriteHuggingFaceFolder(folder, Config, weights.Tensors);

        var error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path));

        Assert.Contains("'lm_head.weight' is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("tie_word_embeddings", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingLayerTensorIsNamed()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(Config, seed: 9);
        WriteHuggingFaceFolder(folder, Config, weights.Tensors.Where(pair => pair.Key != WeightNames.Down(0)).ToDictionary());

        Assert.Contains("'model.layers.0.mlp.down_proj.weight' is missing", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPathsAndFilesAreNamed()
    {
        using var folder = new TempFolder();
        string nowhere = folder.File("nowhere");
        Assert.Equal(nowhere, Assert.Throws<ModelFormatException>(() => ModelLoader.Load(nowhere)).Path);

        Assert.Contains("has no config.json", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path)).Message, StringComparison.Ordinal);

        HuggingFaceConfig.Write(folder.File(HuggingFaceConfig.FileName), Config);
        File.WriteAllBytes(folder.File("pytorch_model.bin"), [0]);
        string message = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path)).Message;
        Assert.Contains("has neither model.safetensors", message, StringComparison.Ordinal);
        Assert.Contains("safe_serialization=True", message, StringComparison.Ordinal);

        File.WriteAllText(folder.File("weights.pt"), "x");
        Assert.Contains("is not a model this SDK reads", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.File("weights.pt"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedArchitectureAndCorruptWeightsAreNamed()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File(HuggingFaceConfig.FileName), """{"architectures": ["PhiForCausalLM"]}""");
        File.WriteAllBytes(folder.File(SafeTensorsCheckpoint.SingleFileName), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path));
        Assert.Equal(folder.File(HuggingFaceConfig.FileName), error.Path);
        Assert.Contains("'PhiForCausalLM' is not supported", error.Message, StringComparison.Ordinal);

        HuggingFaceConfig.Write(folder.File(HuggingFaceConfig.FileName), Config);
        error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder.Path));
        Assert.Equal(folder.File(SafeTensorsCheckpoint.SingleFileName), error.Path);
        Assert.Contains("header length", error.Message, StringComparison.Ordinal);
    }
}
