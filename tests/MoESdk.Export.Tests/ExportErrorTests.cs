using MoESdk.Export;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>What export refuses, and that a failed export leaves nothing behind.</summary>
[Trait("Category", "Unit")]
public sealed class ExportErrorTests
{
    private static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 40,
        MaxPositions = 32,
    };

    [Fact]
    public void ExistingOutputIsRefusedAndLeftUntouched()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel model = Dense(folder);
            string path = Path.Combine(folder, "model.gguf");
            File.WriteAllText(path, "keep me");
            IOException error = Assert.Throws<IOException>(() => GgufExporter.Export(model, path));
            Assert.Contains("already exists", error.Message);
            Assert.Equal("keep me", File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FailedWriteLeavesNoFile()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            var writer = new GgufWriter();
            writer.Add("general.architecture", "llama");
            writer.AddTensor("a.weight", [4, 32], GgufTensorType.F32, () => ones(4, 32));
            writer.AddTensor("b.weight", [4, 32], GgufTensorType.F32, () => throw new IOException("disk full"));
            string path = Path.Combine(folder, "model.gguf");
            Assert.Throws<IOException>(() => writer.Write(path));
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void CancelledWriteLeavesNoFile()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using var cancellation = new CancellationTokenSource();
            var writer = new GgufWriter();
            writer.AddTensor("a.weight", [4, 32], GgufTensorType.F32, () =>
            {
                cancellation.Cancel();
                return ones(4, 32);
            });
            writer.AddTensor("b.weight", [4, 32], GgufTensorType.F32, () => ones(4, 32));
            Assert.Throws<OperationCanceledException>(() => writer.Write(Path.Combine(folder, "model.gguf"), cancellation.Token));
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void LayersWithDifferentExpertCountsAreRefusedWithTheReason()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel dense = Dense(folder);
            using var moe = new LlamaModel(dense.Model, layer => Block(experts: layer == 0 ? 4 : 2, ExpertOutputRule.RouterWeighted, shared: 0));
            using var model = new LanguageModel(moe, null, folder);
            NotSupportedException error = Assert.Throws<NotSupportedException>(() => GgufExporter.Describe(model, GgufTensorType.F32));
            Assert.Contains("one expert count and top-k for all layers", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void RouterWeightedExpertsBesideSharedExpertsAreRefusedWithTheReason()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel dense = Dense(folder);
            using var moe = new LlamaModel(dense.Model, _ => Block(experts: 4, ExpertOutputRule.RouterWeighted, shared: 1));
            using var model = new LanguageModel(moe, null, folder);
            NotSupportedException error = Assert.Throws<NotSupportedException>(() => GgufExporter.Describe(model, GgufTensorType.F32));
            Assert.Contains("does not renormalize", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Q8RowsThatDoNotFillBlocksFallBackToF16AndNormsStayF32()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel dense = Dense(folder);
            // Experts 24 neurons wide: down projections have rows of 24, which Q8_0's 32-value blocks cannot hold.
            using var moe = new LlamaModel(dense.Model, _ => Block(experts: 4, ExpertOutputRule.FixedScale, shared: 0, width: 24));
            using var model = new LanguageModel(moe, null, folder);
            GgufWriter writer = GgufExporter.Describe(model, GgufTensorType.Q8_0);
            Dictionary<string, GgufTensorType> types = writer.Tensors.ToDictionary(t => t.Name, t => t.Type);
            Assert.Equal(GgufTensorType.Q8_0, types["blk.0.ffn_gate_exps.weight"]);
            Assert.Equal(GgufTensorType.F16, types["blk.0.ffn_down_exps.weight"]);
            Assert.Equal(GgufTensorType.F32, types["blk.0.ffn_gate_inp.weight"]);
            Assert.Equal(GgufTensorType.F32, types["blk.0.attn_norm.weight"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void HuggingFaceExportRefusesAnExistingOutputAndLeavesNothingWhenCancelled()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel model = Dense(folder);
            string existing = Path.Combine(folder, "existing");
            Directory.CreateDirectory(existing);
            IOException error = Assert.Throws<IOException>(() => HuggingFaceExporter.Export(model, existing));
            Assert.Contains("already exists", error.Message);

            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.Throws<OperationCanceledException>(() => HuggingFaceExporter.Export(model, Path.Combine(folder, "hf"), cancellationToken: cancelled.Token));
            Assert.Equal([existing], Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void RouterProbabilitiesWithoutSharedExpertsAreRefusedInBothFormats()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel dense = Dense(folder);
            using var moe = new LlamaModel(dense.Model, _ => Block(experts: 4, ExpertOutputRule.RouterProbability, shared: 0));
            using var model = new LanguageModel(moe, null, folder);
            Assert.Contains("renormalize the top-k", Assert.Throws<NotSupportedException>(() => GgufExporter.Describe(model, GgufTensorType.F32)).Message);
            Assert.Contains("renormalize the top-k", Assert.Throws<NotSupportedException>(() => HuggingFaceExporter.Export(model, Path.Combine(folder, "hf"))).Message);
            Assert.False(Directory.Exists(Path.Combine(folder, "hf")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FixedScaleRoutersAreRefusedAsFloat16()
    {
        string folder = Directory.CreateTempSubdirectory("moe-export-err-").FullName;
        try
        {
            using LanguageModel dense = Dense(folder);
            using var moe = new LlamaModel(dense.Model, _ => Block(experts: 4, ExpertOutputRule.FixedScale, shared: 0));
            using var model = new LanguageModel(moe, null, folder);
            NotSupportedException error = Assert.Throws<NotSupportedException>(() => HuggingFaceExporter.Export(model, Path.Combine(folder, "hf"), ScalarType.Float16));
            Assert.Contains("bf16", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static LanguageModel Dense(string folder)
    {
        using ModelWeights weights = WeightLayout.Random(Config, 1);
        return new LanguageModel(new LlamaModel(Config, weights), null, folder);
    }

    private static MixtureOfExpertsFeedForward Block(int experts, ExpertOutputRule rule, int shared, int width = 16)
    {
        Expert Make() => new(randn(width, Config.HiddenSize), randn(width, Config.HiddenSize), randn(Config.HiddenSize, width));
        return new MixtureOfExpertsFeedForward(Enumerable.Range(0, experts).Select(_ => Make()).ToArray(),
            Enumerable.Range(0, shared).Select(_ => Make()).ToArray(), randn(experts, Config.HiddenSize), 2, rule);
    }
}
