using System.Text.Json;
using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

[Trait("Category", "Unit")]
public class Llama2cCheckpointTests
{
    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", "llama2c", name);

    [Fact]
    public void ReadsSharedClassifierCheckpointWithGroupedQueryAttention()
    {
        using LoadedModel model = Llama2cCheckpoint.Read(DataFile("rand-gqa-shared.bin"));
        ModelConfig config = model.Config;

        Assert.Equal((96, 256, 3, 6, 3, 700, 128), (config.HiddenSize, config.IntermediateSize, config.NumLayers,
            config.NumHeads, config.NumKeyValueHeads, config.VocabSize, config.MaxPositions));
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal("LlamaForCausalLM", config.Architecture);
        Assert.Equal((1e-5, 10000.0, 1), (config.RmsNormEpsilon, config.RopeTheta, config.BosTokenId));
        Assert.Equal([2], config.EosTokenIds);
        Assert.False(model.Weights.Contains(WeightNames.Head));
        Assert.Equal(new long[] { 48, 96 }, model.Weights.Tensors[WeightNames.Key(2)].shape);
        WeightLayout.Validate(model.Weights, config);
        Assert.All(model.Weights.Tensors.Values, tensor => Assert.False(tensor.requires_grad));
    }

    [Fact]
    public void ReadsUnsharedClassifierFromNegativeVocabSize()
    {
        using LoadedModel model = Llama2cCheckpoint.Read(DataFile("rand-mha-unshared.bin"));

        Assert.False(model.Config.TieWordEmbeddings);
        Assert.Equal(1000, model.Config.VocabSize);
        Assert.Equal(model.Config.NumHeads, model.Config.NumKeyValueHeads);
        Assert.Equal(new long[] { 1000, 128 }, model.Weights.Tensors[WeightNames.Head].shape);
        WeightLayout.Validate(model.Weights, model.Config);
    }

    [Theory]
    [InlineData("rand-gqa-shared")]
    [InlineData("rand-mha-unshared")]
    public void LoadedWeightsReproduceTheReferenceLogits(string name)
    {
        // The golden logits come from llama2.c's run.c (adjacent-pair RoPE); matching them with a
        // rotate-half forward pass proves the rotary row reordering and the tensor order are right.
        using LoadedModel model = Llama2cCheckpoint.Read(DataFile(name + ".bin"));
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(DataFile(name + ".golden.json")));

        foreach (JsonElement testCase in golden.RootElement.GetProperty("cases").EnumerateArray())
        {
            int[] prompt = testCase.GetProperty("prompt").EnumerateArray().Select(id => id.GetInt32()).ToArray();
            float[] expected = testCase.GetProperty("logits_last").EnumerateArray().Select(value => value.GetSingle()).ToArray();

            float[] actual = ReferenceForward.LastLogits(model, prompt);

            Assert.Equal(expected.Length, actual.Length);
            float worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / (1 + Math.Abs(e))).Max();
            Assert.True(worst < 1e-3, $"prompt of {prompt.Length} tokens: worst relative difference {worst}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WrittenRandomCheckpointReadsBackIdentical(bool tied)
    {
        using var folder = new TempFolder();
        ModelConfig config = SmallConfig(tied);
        using ModelWeights weights = WeightLayout.Random(config, seed: 7);
        string path = folder.File("random.bin");

        Llama2cCheckpoint.Write(path, config, weights);
        using LoadedModel read = Llama2cCheckpoint.Read(path);

        Assert.Equal(config with { EosTokenIds = [] }, read.Config with { EosTokenIds = [] });
        Assert.Equal(weights.Tensors.Keys.Order(), read.Weights.Tensors.Keys.Order());
        foreach ((string name, Tensor tensor) in weights.Tensors)
        {
            Assert.True(tensor.IsIdenticalTo(read.Weights.Tensors[name]), name);
        }
    }

    [Fact]
    public void WrittenCheckpointHasRunCsLayoutAndRotaryTable()
    {
        using var folder = new TempFolder();
        ModelConfig config = SmallConfig(tied: true);
        using ModelWeights weights = WeightLayout.Random(config, seed: 1);
        string path = folder.File("layout.bin");

        Llama2cCheckpoint.Write(path, config, weights);

        byte[] bytes = File.ReadAllBytes(path);
        int[] header = Enumerable.Range(0, 7).Select(i => BitConverter.ToInt32(bytes, i * 4)).ToArray();
        Assert.Equal([32, 64, 2, 4, 2, 50, 16], header);
        // The first query row of head 0 in the file is the HF row 0; the second is HF row head_dim/2.
        long queryStart = 28 + 4L * (50 * 32 + 2 * 32);
        float fileRow1 = BitConverter.ToSingle(bytes, (int)(queryStart + 4 * 32));
        Assert.Equal(weights.Tensors[WeightNames.Query(0)][4, 0].item<float>(), fileRow1);
        // freq_cis real part at position 1, frequency 0 is cos(1).
        long rotaryStart = bytes.Length - 4L * 2 * 16 * 4;
        Assert.Equal(MathF.Cos(1), BitConverter.ToSingle(bytes, (int)(rotaryStart + 4 * 4)), 6);
    }

    [Fact]
    public void TruncatedCheckpointNamesExpectedAndActualSize()
    {
        using var folder = new TempFolder();
        string path = folder.File("cut.bin");
        byte[] original = File.ReadAllBytes(DataFile("rand-gqa-shared.bin"));
        File.WriteAllBytes(path, original[..^100]);

        var error = Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Read(path));

        Assert.Equal(path, error.Path);
        Assert.Contains($"implies {original.Length} bytes, but the file has {original.Length - 100}", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedCheckpointIsRejected()
    {
        using var folder = new TempFolder();
        string path = folder.File("long.bin");
        File.WriteAllBytes(path, [.. File.ReadAllBytes(DataFile("rand-gqa-shared.bin")), 0, 0, 0, 0]);

        Assert.Contains("trailing data", Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Read(path)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 64, 128, 2, 4, 4, 0, 16 }, "not a llama2.c checkpoint header")]
    [InlineData(new[] { 64, 128, 2, 4, 3, 10, 16 }, "not a multiple of the key/value head count")]
    [InlineData(new[] { 0x616b3432, 2, 0, 0, 0, 0, 0 }, "versioned llama2.c export (version 2)")]
    public void InvalidHeaderIsRejected(int[] header, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File("header.bin");
        File.WriteAllBytes(path, header.SelectMany(BitConverter.GetBytes).ToArray());

        Assert.Contains(expected, Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Read(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriterRefusesWhatTheFormatCannotHold()
    {
        using var folder = new TempFolder();
        ModelConfig config = SmallConfig(tied: true) with { RopeTheta = 500000 };
        using ModelWeights weights = WeightLayout.Random(config, seed: 1);

        Assert.Throws<ArgumentException>(() => Llama2cCheckpoint.Write(folder.File("x.bin"), config, weights));
        Assert.False(File.Exists(folder.File("x.bin")));
    }

    internal static ModelConfig SmallConfig(bool tied) => new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 50,
        MaxPositions = 16,
        TieWordEmbeddings = tied,
        BosTokenId = 1,
        EosTokenIds = [2],
    };
}
