using System.Text.Json;
using MoESdk.Artifacts;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tokenization;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// Exports a model as a Hugging Face folder (<c>config.json</c>, <c>model.safetensors</c>, the tokenizer files) that
/// transformers and vLLM load. A dense model keeps its own architecture; a Mixture-of-Experts artifact becomes
/// <c>MixtralForCausalLM</c>, <c>Qwen2MoeForCausalLM</c> when it has shared experts or q/k/v biases, or
/// <c>Qwen3MoeForCausalLM</c> when it has q/k norms, with its routing folded into
/// the weights by <see cref="MoEExportLayout"/> — the same folding, and so the same numbers, as the GGUF export.
/// The folder is written under a temporary name and renamed when complete; tensors are produced one at a time.
/// </summary>
internal static class HuggingFaceExporter
{
    // What a Hugging Face model folder carries besides its weights; tokenizer.bin (llama2.c) is not read by transformers.
    private static readonly string[] TokenizerFileNames =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json", "chat_template.jinja"];

    /// <summary>Writes <paramref name="model"/> as the Hugging Face folder <paramref name="folder"/>, which must not exist yet.</summary>
    /// <param name="model">The model as opened by <see cref="LanguageModel.Open"/>; its tokenizer files are copied from its <see cref="LanguageModel.Source"/>.</param>
    /// <param name="folder">The folder to create.</param>
    /// <param name="storeAs">Type of every tensor: Float32, Float16 or BFloat16.</param>
    /// <param name="cancellationToken">Stops the export between tensors, leaving no folder behind.</param>
    /// <exception cref="IOException">The output exists.</exception>
    /// <exception cref="NotSupportedException">The model cannot be expressed as a Hugging Face model; the message says why.</exception>
    public static void Export(LanguageModel model, string folder, ScalarType storeAs = ScalarType.Float32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (File.Exists(folder) || Directory.Exists(folder))
        {
            throw new IOException($"{folder} already exists; choose another output path or delete it first.");
        }
        string torchDtype = storeAs switch
        {
            ScalarType.Float32 => "float32",
            ScalarType.Float16 => "float16",
            ScalarType.BFloat16 => "bfloat16",
            _ => throw new ArgumentOutOfRangeException(nameof(storeAs), storeAs, "Hugging Face weights are written as Float32, Float16 or BFloat16."),
        };
        (ModelConfig config, IReadOnlyList<SafeTensorsWriter.Output> tensors) = Describe(model.Model, storeAs);

        var destination = new ArtifactDestination(folder);
        destination.Check();
        string temp = destination.BeginWrite();
        try
        {
            bool hasGenerationConfig = CopyTokenizer(model.Source, temp);
            File.WriteAllText(Path.Combine(temp, HuggingFaceConfig.FileName), HuggingFaceConfig.ToJson(config, torchDtype));
            if (!hasGenerationConfig)
            {
                WriteGenerationConfig(Path.Combine(temp, "generation_config.json"), config);
            }
            SafeTensorsWriter.Write(Path.Combine(temp, SafeTensorsCheckpoint.SingleFileName), tensors,
                new Dictionary<string, string> { ["format"] = "pt" }, cancellationToken);
            destination.CommitWrite(temp);
        }
        catch
        {
            ArtifactDestination.AbandonWrite(temp);
            throw;
        }
    }

    /// <summary>The configuration written for <paramref name="llama"/> and its tensors under the Hugging Face names, not yet produced.</summary>
    internal static (ModelConfig Config, IReadOnlyList<SafeTensorsWriter.Output> Tensors) Describe(LlamaModel llama, ScalarType storeAs)
    {
        ModelConfig config = llama.Config;
        MoEExportLayout? moe = MoEExportLayout.Of(llama);
        Dictionary<string, Tensor> own = llama.NamedWeights();
        var produce = new Dictionary<string, Func<Tensor>>(StringComparer.Ordinal);
        foreach ((string name, Tensor tensor) in own)
        {
            produce[name] = () => tensor;
        }
        if (moe is not null)
        {
            if (moe.HasSharedExperts && config.SlidingWindow is { } window)
            {
                throw new NotSupportedException($"a sliding window ({window}) beside shared experts is not exported: Qwen2-MoE's window is not mapped here");
            }
            if (storeAs == ScalarType.Float16 && moe.UniformRouter)
            {
                throw new NotSupportedException("a fixed-scale model's router is scaled by 2⁻¹⁴, below float16's normal range: export it as bf16 or f32");
            }
            config = config with
            {
                Architecture = moe.HuggingFaceArchitecture,
                Mixture = moe.HuggingFaceMixture,
                // Mixtral's intermediate_size is the experts' width; Qwen2-MoE always has q/k/v biases (zeros change nothing).
                IntermediateSize = moe.HuggingFaceArchitecture == HuggingFaceConfig.Mixtral ? checked((int)moe.ExpertWidth) : config.IntermediateSize,
                AttentionBias = moe.HasSharedExperts || config.AttentionBias,
            };
            AddMixture(produce, moe, config);
        }
        var tensors = new List<SafeTensorsWriter.Output>();
        foreach ((string name, long[] shape) in WeightLayout.Expected(config))
        {
            Func<Tensor> source = produce.GetValueOrDefault(name)
                ?? (name.EndsWith(".bias", StringComparison.Ordinal) ? () => zeros(shape) : throw new InvalidOperationException($"No tensor for '{name}'."));
            tensors.Add(new SafeTensorsWriter.Output(MoEWeightNames.InCheckpoint(config.Architecture, name), shape, storeAs, source));
        }
        return (config, tensors);
    }

    /// <summary>The folded MoE tensors of every layer, replacing the model's own expert tensors.</summary>
    private static void AddMixture(Dictionary<string, Func<Tensor>> produce, MoEExportLayout moe, ModelConfig config)
    {
        long hidden = config.HiddenSize;
        for (int i = 0; i < config.NumLayers; i++)
        {
            int layer = i;
            produce[MoEWeightNames.Router(layer)] = () => moe.Router(layer);
            for (int e = 0; e < moe.Experts; e++)
            {
                int expert = e;
                produce[MoEWeightNames.ExpertGate(layer, expert)] = () => moe.Expert(layer, expert, x => x.Gate.Weight);
                produce[MoEWeightNames.ExpertUp(layer, expert)] = () => moe.Expert(layer, expert, x => x.Up.Weight);
                produce[MoEWeightNames.ExpertDown(layer, expert)] = () => moe.ExpertDown(layer, expert);
            }
            if (moe.HasSharedExperts)
            {
                produce[MoEWeightNames.SharedGate(layer, 0)] = () => moe.Shared(layer, x => x.Gate.Weight);
                produce[MoEWeightNames.SharedUp(layer, 0)] = () => moe.Shared(layer, x => x.Up.Weight);
                produce[MoEWeightNames.SharedDown(layer, 0)] = () => moe.SharedDown(layer);
                produce[MoEWeightNames.SharedExpertGate(layer)] = () => moe.SharedGate(layer, hidden).reshape(1, hidden);
            }
        }
    }

    /// <summary>
    /// Copies the source's tokenizer files (or writes a GGUF's vocabulary as them), and a tokenizer.json beside a
    /// byte-level vocab.json + merges.txt that came without one; true when a generation_config.json came along.
    /// </summary>
    private static bool CopyTokenizer(string source, string folder)
    {
        bool generation = false;
        if (GgufCheckpoint.IsGguf(source))
        {
            GgufCheckpoint.WriteTokenizerFiles(source, folder);
        }
        else
        {
            string from = Directory.Exists(source) ? source : Path.GetDirectoryName(Path.GetFullPath(source))!;
            foreach (string name in TokenizerFileNames)
            {
                string candidate = Path.Combine(from, name);
                if (File.Exists(candidate))
                {
                    File.Copy(candidate, Path.Combine(folder, name));
                    generation |= name == "generation_config.json";
                }
            }
        }
        if (!File.Exists(Path.Combine(folder, ByteLevelTokenizerJson.FileName))
            && File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt")))
        {
            ByteLevelTokenizerJson.Write(folder);
        }
        return generation;
    }

    /// <summary>The special tokens engines stop and start on, for a source that had no generation_config.json.</summary>
    private static void WriteGenerationConfig(string path, ModelConfig config)
    {
        var values = new Dictionary<string, object>();
        if (config.BosTokenId is { } bos)
        {
            values["bos_token_id"] = bos;
        }
        if (config.EosTokenIds.Count > 0)
        {
            values["eos_token_id"] = config.EosTokenIds.Count == 1 ? config.EosTokenIds[0] : config.EosTokenIds;
        }
        File.WriteAllText(path, JsonSerializer.Serialize(values, new JsonSerializerOptions { WriteIndented = true }));
    }
}
