using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// Exports a model (dense, or a Mixture-of-Experts artifact) as a GGUF file that llama.cpp, Ollama and LM Studio
/// load. Dense LLaMA/Mistral models use llama.cpp's <c>llama</c> architecture, whose rotary embedding rotates
/// adjacent pairs, so query and key rows go back to the interleaved order (as llama.cpp's own converter does);
/// Qwen2 (and any dense model with q/k/v biases) uses <c>qwen2</c> and Qwen3 <c>qwen3</c> (halves rotated, no reordering; Qwen3's per-head q/k norms as
/// <c>attn_q_norm</c>/<c>attn_k_norm</c>). MoE models use <c>llama</c> with stacked expert tensors,
/// or <c>qwen2moe</c> when they have shared experts; see <see cref="MoEExportLayout"/> for how the semantics are folded.
/// Tensors are produced one at a time while writing: no second copy of the model is made.
/// </summary>
internal static class GgufExporter
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>, which must not exist yet.</summary>
    /// <param name="model">The model as opened by <see cref="LanguageModel.Open"/>; its tokenizer files are read from its <see cref="LanguageModel.Source"/>.</param>
    /// <param name="path">The .gguf file to create.</param>
    /// <param name="weightType">Type of the weight matrices; norms, biases and routers stay float32. Q8_0 and Q4_0 fall back
    /// to F16 for a matrix whose rows do not divide into 32-value blocks, as llama.cpp's converter does. With Q4_0 the
    /// token embedding (looked up, not multiplied) is Q8_0 and the head is written even when tied, in Q4_0: what a model
    /// held in int4 computes with.</param>
    /// <exception cref="IOException">The output exists.</exception>
    /// <exception cref="NotSupportedException">The model cannot be expressed in GGUF; the message says why.</exception>
    /// <param name="cancellationToken">Stops the export between tensors, leaving no file behind.</param>
    public static void Export(LanguageModel model, string path, GgufTensorType weightType = GgufTensorType.F32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new IOException($"{path} already exists; choose another output path or delete it first.");
        }
        Describe(model, weightType).Write(path, cancellationToken);
    }

    /// <summary>The GGUF file of <paramref name="model"/>, described but not yet written.</summary>
    internal static GgufWriter Describe(LanguageModel model, GgufTensorType weightType)
    {
        LlamaModel llama = model.Model;
        HeldBlocks.RefuseHeld(llama, "export");
        ModelConfig config = llama.Config;
        MoEExportLayout? moe = MoEExportLayout.Of(llama);
        if (moe is null && config.QueryKeyNorm && config.AttentionBias)
        {
            throw new NotSupportedException("a model with q/k norms is exported only as Qwen3, which has no attention biases");
        }
        string architecture = moe?.GgufArchitecture
            ?? (config.QueryKeyNorm ? "qwen3" : config.AttentionBias ? "qwen2" : "llama");
        bool interleavedRotary = architecture == "llama";

        var writer = new GgufWriter();
        writer.Add("general.architecture", architecture);
        writer.Add("general.name", Path.GetFileNameWithoutExtension(Path.GetFullPath(model.Source).TrimEnd('/')));
        writer.Add("general.file_type", FileType(weightType));
        string a = architecture;
        writer.Add($"{a}.context_length", (uint)config.MaxPositions);
        writer.Add($"{a}.embedding_length", (uint)config.HiddenSize);
        writer.Add($"{a}.block_count", (uint)config.NumLayers);
        writer.Add($"{a}.feed_forward_length", (uint)(moe?.ExpertWidth ?? config.IntermediateSize));
        writer.Add($"{a}.attention.head_count", (uint)config.NumHeads);
        writer.Add($"{a}.attention.head_count_kv", (uint)config.NumKeyValueHeads);
        writer.Add($"{a}.attention.key_length", (uint)config.HeadDim);
        writer.Add($"{a}.attention.value_length", (uint)config.HeadDim);
        writer.Add($"{a}.rope.dimension_count", (uint)config.HeadDim);
        writer.Add($"{a}.rope.freq_base", (float)config.RopeTheta);
        writer.Add($"{a}.attention.layer_norm_rms_epsilon", (float)config.RmsNormEpsilon);
        writer.Add($"{a}.vocab_size", (uint)config.VocabSize);
        bool ropeFactors = AddRopeScaling(writer, a, config);
        if (moe is not null)
        {
            writer.Add($"{a}.expert_count", (uint)moe.Experts);
            writer.Add($"{a}.expert_used_count", (uint)moe.ExpertsPerToken);
            if (moe.HasSharedExperts || moe.QueryKeyNorm)
            {
                writer.Add($"{a}.expert_feed_forward_length", (uint)moe.ExpertWidth);
            }
            if (moe.HasSharedExperts)
            {
                writer.Add($"{a}.expert_shared_feed_forward_length", (uint)moe.SharedWidth);
            }
        }
        // add_bos_token says what MoESdk does with a prompt, whatever the tokenizer files claim, so llama.cpp reads it alike.
        GgufVocabulary.Read(model.Source, config, model.Tokenizer is null ? config.BosTokenId is not null : model.PromptStartsWithBos).WriteTo(writer);

        GgufTensorType Matrix(long rowLength) =>
            GgufTensorEncoding.IsBlockType(weightType) && rowLength % GgufTensorEncoding.Q8BlockSize != 0 ? GgufTensorType.F16 : weightType;
        void Weight(string name, long[] shape, Func<Tensor> produce) => writer.AddTensor(name, shape, Matrix(shape[^1]), produce);
        void Vector(string name, long[] shape, Func<Tensor> produce) => writer.AddTensor(name, shape, GgufTensorType.F32, produce);

        long hidden = config.HiddenSize;
        bool fourBit = weightType == GgufTensorType.Q4_0;
        writer.AddTensor("token_embd.weight", [config.VocabSize, hidden], fourBit && hidden % GgufTensorEncoding.Q8BlockSize == 0 ? GgufTensorType.Q8_0 : Matrix(hidden),
            () => llama.Embedding);
        if (ropeFactors)
        {
            Vector("rope_freqs.weight", [config.HeadDim / 2], () => RopeFactors(config));
        }
        foreach (DecoderLayer layer in llama.Layers)
        {
            int i = layer.Index;
            string blk = $"blk.{i}";
            Attention attention = layer.Attention;
            Vector($"{blk}.attn_norm.weight", [hidden], () => layer.AttentionNorm.Weight);
            Tensor Rotary(Tensor weight, int heads) => interleavedRotary ? RotaryRowOrder.HalvesToInterleaved(weight, heads) : weight;
            Weight($"{blk}.attn_q.weight", attention.Query.Weight.shape, () => Rotary(attention.Query.Weight, attention.Heads));
            Weight($"{blk}.attn_k.weight", attention.Key.Weight.shape, () => Rotary(attention.Key.Weight, attention.KeyValueHeads));
            Weight($"{blk}.attn_v.weight", attention.Value.Weight.shape, () => attention.Value.Weight);
            if (attention.Query.Bias is not null)
            {
                // Only the qwen2 architectures take biases, and they rotate halves as Hugging Face does: no reordering.
                Vector($"{blk}.attn_q.bias", attention.Query.Bias.shape, () => attention.Query.Bias);
                Vector($"{blk}.attn_k.bias", attention.Key.Bias!.shape, () => attention.Key.Bias!);
                Vector($"{blk}.attn_v.bias", attention.Value.Bias!.shape, () => attention.Value.Bias!);
            }
            else if (architecture == "qwen2moe")
            {
                // qwen2moe requires q/k/v biases: zeros change nothing.
                Vector($"{blk}.attn_q.bias", [attention.Query.OutFeatures], () => zeros(attention.Query.OutFeatures));
                Vector($"{blk}.attn_k.bias", [attention.Key.OutFeatures], () => zeros(attention.Key.OutFeatures));
                Vector($"{blk}.attn_v.bias", [attention.Value.OutFeatures], () => zeros(attention.Value.OutFeatures));
            }
            if (attention.QueryNorm is not null)
            {
                Vector($"{blk}.attn_q_norm.weight", [config.HeadDim], () => attention.QueryNorm.Weight);
                Vector($"{blk}.attn_k_norm.weight", [config.HeadDim], () => attention.KeyNorm!.Weight);
            }
            Weight($"{blk}.attn_output.weight", attention.Output.Weight.shape, () => attention.Output.Weight);
            Vector($"{blk}.ffn_norm.weight", [hidden], () => layer.FeedForwardNorm.Weight);
            if (moe is null)
            {
                var dense = (DenseFeedForward)layer.FeedForward;
                Weight($"{blk}.ffn_gate.weight", dense.Gate.Weight.shape, () => dense.Gate.Weight);
                Weight($"{blk}.ffn_up.weight", dense.Up.Weight.shape, () => dense.Up.Weight);
                Weight($"{blk}.ffn_down.weight", dense.Down.Weight.shape, () => dense.Down.Weight);
                continue;
            }
            long experts = moe.Experts, width = moe.ExpertWidth;
            Vector($"{blk}.ffn_gate_inp.weight", [experts, hidden], () => moe.Router(i));
            Weight($"{blk}.ffn_gate_exps.weight", [experts, width, hidden], () => moe.Stacked(i, e => e.Gate.Weight));
            Weight($"{blk}.ffn_up_exps.weight", [experts, width, hidden], () => moe.Stacked(i, e => e.Up.Weight));
            Weight($"{blk}.ffn_down_exps.weight", [experts, hidden, width], () => moe.StackedDown(i));
            if (moe.HasSharedExperts)
            {
                long shared = moe.SharedWidth;
                Vector($"{blk}.ffn_gate_inp_shexp.weight", [hidden], () => moe.SharedGate(i, hidden));
                Weight($"{blk}.ffn_gate_shexp.weight", [shared, hidden], () => moe.Shared(i, e => e.Gate.Weight));
                Weight($"{blk}.ffn_up_shexp.weight", [shared, hidden], () => moe.Shared(i, e => e.Up.Weight));
                Weight($"{blk}.ffn_down_shexp.weight", [hidden, shared], () => moe.SharedDown(i));
            }
        }
        Vector("output_norm.weight", [hidden], () => llama.FinalNorm.Weight);
        // A tied head is left out (llama.cpp reuses token_embd) except where the architecture requires one.
        if (!config.TieWordEmbeddings || architecture == "qwen2moe" || fourBit)
        {
            Weight("output.weight", [config.VocabSize, hidden], () => llama.Head);
        }
        return writer;
    }

    /// <summary>llama.cpp's llama_ftype for a file whose matrices are <paramref name="type"/>.</summary>
    private static uint FileType(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 0,
        GgufTensorType.F16 => 1,
        GgufTensorType.Q4_0 => 2,
        GgufTensorType.Q8_0 => 7,
        GgufTensorType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Writes the rope scaling keys; true when the llama3 frequencies need a rope_freqs tensor.</summary>
    private static bool AddRopeScaling(GgufWriter writer, string architecture, ModelConfig config)
    {
        switch (config.RopeScaling?.Type)
        {
            case null:
            case "dynamic": // NTK scaling only acts beyond the trained context, which the model never runs past.
                return false;
            case "linear":
                writer.Add($"{architecture}.rope.scaling.type", "linear");
                writer.Add($"{architecture}.rope.scaling.factor", (float)config.RopeScaling.Factor);
                return false;
            case "llama3":
                return true;
            default:
                throw new NotSupportedException($"rope_scaling type '{config.RopeScaling.Type}' has no GGUF equivalent here");
        }
    }

    /// <summary>llama.cpp divides each rotary frequency by rope_freqs[i]: the llama3 reshaping as factors.</summary>
    private static Tensor RopeFactors(ModelConfig config)
    {
        int half = config.HeadDim / 2;
        double[] plain = RotaryEmbedding.InverseFrequencies(config with { RopeScaling = null }, half);
        double[] scaled = RotaryEmbedding.InverseFrequencies(config, half);
        return tensor(plain.Zip(scaled, (p, s) => (float)(p / s)).ToArray());
    }
}
