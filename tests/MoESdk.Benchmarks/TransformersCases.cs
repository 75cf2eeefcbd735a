using System.Text.Json;
using MoESdk;
using MoESdk.Export;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

/// <summary>
/// Cases for checking the Hugging Face export with transformers itself, on a machine that has it
/// (`tests/transformers/check_exports.py`; transformers does not run where the tests run).
/// `sources` writes random dense Qwen2 (q/k/v biases, tied head), Qwen3 (q/k norms, heads wider than hidden / heads),
/// LLaMA-3 (llama3 RoPE scaling) and Mistral (sliding window) models with the reference model's tokenizer, for
/// `moe convert` to turn into Qwen2-MoE and Qwen3-MoE artifacts.
/// `write` exports each model (a model folder or a .moe artifact) as a Hugging Face folder in bfloat16 (the size that
/// travels) and records what MoESdk computes from that folder: the token ids of a held-out passage, the logits at every
/// position (float32, little-endian, [tokens × vocabulary]) and 24 greedy tokens.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- transformers sources DIR TOKENIZER_MODEL_DIR
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- transformers write DIR TEXT_FILE NAME=MODEL...
/// </summary>
internal static class TransformersCases
{
    private const int PromptTokens = 64;
    private const int GreedyTokens = 24;

    public static void Run(string[] args)
    {
        if (args is ["sources", var folder, var tokenizerModel])
        {
            ModelConfig vocabulary = HuggingFaceConfig.Read(Path.Combine(tokenizerModel, HuggingFaceConfig.FileName));
            WriteSource(Path.Combine(folder, "qwen2"), tokenizerModel, new ModelConfig
            {
                Architecture = "Qwen2ForCausalLM", HiddenSize = 128, IntermediateSize = 384, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
                MaxPositions = 256, RmsNormEpsilon = 1e-6, RopeTheta = 1000000, AttentionBias = true, TieWordEmbeddings = true,
                VocabSize = vocabulary.VocabSize, BosTokenId = vocabulary.BosTokenId, EosTokenIds = vocabulary.EosTokenIds,
            });
            WriteSource(Path.Combine(folder, "qwen3"), tokenizerModel, new ModelConfig
            {
                Architecture = "Qwen3ForCausalLM", HiddenSize = 128, IntermediateSize = 384, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
                HeadDim = 64, MaxPositions = 256, RmsNormEpsilon = 1e-6, RopeTheta = 1000000, QueryKeyNorm = true, TieWordEmbeddings = true,
                VocabSize = vocabulary.VocabSize, BosTokenId = vocabulary.BosTokenId, EosTokenIds = vocabulary.EosTokenIds,
            });
            // llama3 RoPE scaling whose ramp (wavelengths between 4 and 16 positions) a 64-token passage crosses.
            WriteSource(Path.Combine(folder, "llama3"), tokenizerModel, new ModelConfig
            {
                Architecture = "LlamaForCausalLM", HiddenSize = 128, IntermediateSize = 384, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
                MaxPositions = 256, RmsNormEpsilon = 1e-5, RopeTheta = 500000, RopeScaling = new RopeScaling("llama3", 8, 1, 4, 16),
                VocabSize = vocabulary.VocabSize, BosTokenId = vocabulary.BosTokenId, EosTokenIds = vocabulary.EosTokenIds,
            });
            // A sliding window of 16 positions, shorter than the passage: llama.cpp applies none to this architecture.
            WriteSource(Path.Combine(folder, "mistral"), tokenizerModel, new ModelConfig
            {
                Architecture = "MistralForCausalLM", HiddenSize = 128, IntermediateSize = 384, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
                MaxPositions = 256, RmsNormEpsilon = 1e-5, RopeTheta = 10000, SlidingWindow = 16,
                VocabSize = vocabulary.VocabSize, BosTokenId = vocabulary.BosTokenId, EosTokenIds = vocabulary.EosTokenIds,
            });
        }
        else if (args is ["write", var outFolder, var textFile, .. var models])
        {
            string text = File.ReadAllText(textFile);
            foreach (string named in models)
            {
                string[] parts = named.Split('=', 2);
                Write(Path.Combine(outFolder, parts[0]), parts[1], text);
            }
        }
        else
        {
            Console.Error.WriteLine("usage: transformers sources DIR TOKENIZER_MODEL_DIR | transformers write DIR TEXT_FILE NAME=MODEL...");
        }
    }

    // Random weights with spread enough that logits differ by more than rounding: matrices N(0, 0.1²), norms
    // 1 + N(0, 0.1²), biases N(0, 0.1²) (zero biases would not exercise them).
    private static void WriteSource(string folder, string tokenizerModel, ModelConfig config)
    {
        Directory.CreateDirectory(folder);
        using ModelWeights weights = WeightLayout.Random(config, seed: config.Architecture.Length);
        using (var generator = new Generator(7))
        {
            foreach ((string name, Tensor tensor) in weights.Tensors)
            {
                using Tensor noise = randn(tensor.shape, generator: generator).mul_(0.1f);
                if (tensor.dim() == 1)
                {
                    tensor.add_(noise);
                }
                else
                {
                    tensor.mul_(5f);
                }
            }
        }
        SafeTensorsWriter.Write(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName), weights.Tensors);
        File.WriteAllText(Path.Combine(folder, HuggingFaceConfig.FileName), HuggingFaceConfig.ToJson(config, "float32"));
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(tokenizerModel, file), Path.Combine(folder, file), overwrite: true);
        }
        Console.WriteLine($"wrote {folder} ({config.Architecture})");
    }

    private static void Write(string caseFolder, string source, string text)
    {
        string exported = Path.Combine(caseFolder, "hf");
        using (LanguageModel model = LanguageModel.Open(source))
        {
            HuggingFaceExporter.Export(model, exported, ScalarType.BFloat16);
        }
        using LanguageModel reloaded = LanguageModel.Open(exported);
        IReadOnlyList<int> encoded = reloaded.EncodePrompt(text);
        int[] tokens = [.. encoded.Take(PromptTokens)];
        string passage = reloaded.RequireTokenizer().Decode(tokens);
        float[] logits = Logits(reloaded.Model, tokens, out int vocabulary);
        int[] greedy = Greedy(reloaded.Model, tokens);
        using (var file = File.Create(Path.Combine(caseFolder, "logits.f32")))
        {
            file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan()));
        }
        var reference = new
        {
            source = Path.GetFileName(Path.TrimEndingDirectorySeparator(source)),
            architecture = reloaded.Model.Config.Architecture,
            text = passage,
            tokens,
            bos = reloaded.PromptStartsWithBos,
            vocabulary,
            greedy,
        };
        File.WriteAllText(Path.Combine(caseFolder, "reference.json"), JsonSerializer.Serialize(reference, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"{caseFolder}: {reloaded.Model.Config.Architecture}, {tokens.Length} tokens, greedy {string.Join(' ', greedy)}");
    }

    private static float[] Logits(LlamaModel model, int[] tokens, out int vocabulary)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        using Tensor ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Length]);
        Tensor logits = model.Forward(ids, 0, null, lastTokenOnly: false)[0];
        vocabulary = (int)logits.shape[1];
        return logits.contiguous().data<float>().ToArray();
    }

    private static int[] Greedy(LlamaModel model, int[] prompt)
    {
        var sequence = new List<int>(prompt);
        for (int i = 0; i < GreedyTokens; i++)
        {
            float[] last = Logits(model, [.. sequence], out int vocabulary).AsSpan(^vocabulary..).ToArray();
            sequence.Add(Array.IndexOf(last, last.Max()));
        }
        return [.. sequence.Skip(prompt.Length)];
    }
}
