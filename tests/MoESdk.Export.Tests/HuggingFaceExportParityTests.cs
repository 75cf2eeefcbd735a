using MoESdk.Export;
using MoESdk.Loading;
using MoESdk.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>
/// Random-weight models written in the Hugging Face layout (config.json + model.safetensors) for the architecture
/// features the loader claims, opened by MoESdk, exported to GGUF and run by llama.cpp.
/// </summary>
public sealed class HuggingFaceExportParityTests(ITestOutputHelper output)
{
    private static readonly ModelConfig Llama = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 160,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 128,
        MaxPositions = 128,
        RmsNormEpsilon = 1e-5,
        RopeTheta = 10000,
        TieWordEmbeddings = false,
        BosTokenId = 1,
        EosTokenIds = [2],
    };

    public static TheoryData<string, string> Cases => new()
    {
        { "llama-gqa-untied", nameof(GgufTensorType.F32) },
        { "llama-gqa-untied", nameof(GgufTensorType.BF16) },
        { "llama3-rope-scaling", nameof(GgufTensorType.F32) },
        { "qwen2-bias-tied", nameof(GgufTensorType.F32) },
        { "qwen2-bias-tied", nameof(GgufTensorType.BF16) },
        { "qwen3-qk-norm-head-dim", nameof(GgufTensorType.F32) },
        { "qwen3-qk-norm-head-dim", nameof(GgufTensorType.BF16) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomModelMatchesLlamaCpp(string name, string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        ModelConfig config = name switch
        {
            "llama-gqa-untied" => Llama,
            // Wavelengths above 16 positions are slowed 8×, those between 4 and 16 ramp: every branch of llama3 scaling.
            "llama3-rope-scaling" => Llama with { RopeTheta = 500000, RopeScaling = new RopeScaling("llama3", 8, 1, 4, 16) },
            "qwen2-bias-tied" => Llama with { Architecture = "Qwen2ForCausalLM", AttentionBias = true, TieWordEmbeddings = true, RopeTheta = 1000000, RmsNormEpsilon = 1e-6 },
            // Heads of 32 with 4 query heads: 128 query channels on a hidden size of 64.
            "qwen3-qk-norm-head-dim" => Llama with { Architecture = "Qwen3ForCausalLM", QueryKeyNorm = true, HeadDim = 32, TieWordEmbeddings = true, RopeTheta = 1000000, RmsNormEpsilon = 1e-6 },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        string folder = Directory.CreateTempSubdirectory("moe-hf-").FullName;
        try
        {
            Write(folder, config, seed: name.Length);
            using LanguageModel model = LanguageModel.Open(folder);
            Assert.Equal(config with { EosTokenIds = model.Model.Config.EosTokenIds }, model.Model.Config);
            int[] prompt = Enumerable.Range(0, 40).Select(i => 1 + (i * 37 + 11) % 120).ToArray();
            ExportParity.AssertParity(ExportParity.Measure(model, type, prompt, name, output));
            KernelDecode.AssertMatchesForward(model, prompt);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void SentencePieceModelTokenizesAndRunsLikeMoESdk()
    {
        // LLaMA-2's kind of vocabulary: <unk> <s> </s>, 256 byte pieces, then BPE pieces scored by merge order.
        var pieces = new List<SentencePiece> { new("<unk>", 0, SentencePieceKind.Unknown), new("<s>", 0, SentencePieceKind.Control), new("</s>", 0, SentencePieceKind.Control) };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => new SentencePiece($"<0x{b:X2}>", 0, SentencePieceKind.Byte)));
        string[] merged = ["▁", "t", "h", "e", "a", "m", "▁t", "he", "▁the", "▁a", "at", "▁he", "me"];
        pieces.AddRange(merged.Select((p, i) => new SentencePiece(p, -i, SentencePieceKind.Normal)));
        ModelConfig config = Llama with { VocabSize = 288 };
        string folder = Directory.CreateTempSubdirectory("moe-hf-spm-").FullName;
        try
        {
            Write(folder, config, seed: 5);
            File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"),
                SentencePieceModelWriter.Write(pieces, byteFallback: true, addDummyPrefix: true, unknownId: 0, bosId: 1, eosId: 2));
            using LanguageModel model = LanguageModel.Open(folder);
            const string Text = "the theme at the heath: é!";
            IReadOnlyList<int> ids = model.RequireTokenizer().Encode(Text, addBos: true);
            string gguf = Path.Combine(folder, "model.gguf");
            GgufExporter.Export(model, gguf);
            using (LlamaCppModel llama = LlamaCppModel.Load(gguf, 64))
            {
                Assert.Equal(ids, llama.Tokenize(Text, addBos: true));
            }
            ExportParity.AssertParity(ExportParity.Measure(model, GgufTensorType.F32, ids, "llama-sentencepiece", output));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Writes config.json and model.safetensors with random weights large enough for sharp, varied logits.</summary>
    internal static void Write(string folder, ModelConfig config, int seed)
    {
        using ModelWeights weights = WeightLayout.Random(config, seed);
        using (no_grad())
        {
            using var generator = new Generator((ulong)seed + 1);
            foreach ((string name, Tensor tensor) in weights.Tensors)
            {
                if (name.EndsWith(".bias", StringComparison.Ordinal))
                {
                    tensor.copy_(randn(tensor.shape, generator: generator) * 0.5f);
                }
                else if (name.Contains("mlp.", StringComparison.Ordinal))
                {
                    tensor.mul_(10f);
                }
                else if (name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    tensor.copy_(rand(tensor.shape, generator: generator) + 0.5f);
                }
                else if (name.Contains("self_attn.", StringComparison.Ordinal))
                {
                    tensor.mul_(5f);
                }
            }
            weights.Tensors[WeightNames.Embedding].mul_(25f);
            if (weights.Tensors.TryGetValue(WeightNames.Head, out Tensor? head))
            {
                head.mul_(50f);
            }
        }
        HuggingFaceConfig.Write(Path.Combine(folder, HuggingFaceConfig.FileName), config);
        SafeTensorsWriter.Write(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName), weights.Tensors);
    }
}
