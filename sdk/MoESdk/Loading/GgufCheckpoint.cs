using System.Text.Json;
using MoESdk.Tokenization;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// A dense model stored as GGUF (llama.cpp's <c>llama</c>, <c>qwen2</c> and <c>qwen3</c> architectures), read as a
/// source model: weights dequantized to float32 (F32, F16, BF16, Q8_0), query and key rows of <c>llama</c> files
/// put back in the Hugging Face order, and the vocabulary (<c>gpt2</c> byte-level BPE or <c>llama</c>
/// SentencePiece) as a tokenizer.
/// </summary>
internal static class GgufCheckpoint
{
    private static readonly Dictionary<string, string> Architectures = new(StringComparer.Ordinal)
    {
        ["llama"] = "LlamaForCausalLM",
        ["qwen2"] = "Qwen2ForCausalLM",
        ["qwen3"] = "Qwen3ForCausalLM",
    };

    /// <summary>Whether <paramref name="path"/> names a GGUF file.</summary>
    public static bool IsGguf(string path) => path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    /// <summary>Reads the model at <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Not GGUF, an architecture or tensor type not read, or inconsistent.</exception>
    public static LoadedModel Read(string path)
    {
        using GgufFile gguf = GgufFile.Open(path);
        ModelConfig config = ReadConfig(gguf);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var weights = new ModelWeights(path, tensors);
        try
        {
            bool interleaved = gguf.String("general.architecture") == "llama";
            foreach ((string name, long[] shape) in WeightLayout.Expected(config))
            {
                Tensor tensor = gguf.Read(GgufName(name), shape);
                if (interleaved && (name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("k_proj.weight", StringComparison.Ordinal)))
                {
                    using Tensor stored = tensor;
                    tensor = RotaryRowOrder.InterleavedToHalves(stored, name.EndsWith("q_proj.weight", StringComparison.Ordinal) ? config.NumHeads : config.NumKeyValueHeads);
                }
                tensors.Add(name, tensor.DetachFromDisposeScope());
            }
            WeightLayout.Validate(weights, config);
            return new LoadedModel(config, weights);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The tokenizer of the GGUF file's vocabulary.</summary>
    public static ITextTokenizer ReadTokenizer(string path)
    {
        using GgufFile gguf = GgufFile.Open(path);
        string[] tokens = Strings(gguf, "tokenizer.ggml.tokens");
        int[] types = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.token_type") is object[] t ? t.Select(Convert.ToInt32).ToArray() : new int[tokens.Length];
        int? bos = (int?)gguf.Integer("tokenizer.ggml.bos_token_id");
        int? eos = (int?)gguf.Integer("tokenizer.ggml.eos_token_id");
        switch (gguf.String("tokenizer.ggml.model"))
        {
            case "gpt2":
                if (gguf.String("tokenizer.ggml.pre") is { } pre && pre is not ("gpt-2" or "default"))
                {
                    throw new ModelFormatException(path, $"pre-tokenizer '{pre}' is not read; only GPT-2's (gpt-2, default)");
                }
                var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int i = 0; i < tokens.Length; i++)
                {
                    vocabulary.TryAdd(tokens[i], i);
                }
                var specials = Enumerable.Range(0, tokens.Length).Where(i => types[i] == 3).ToDictionary(i => tokens[i], i => i, StringComparer.Ordinal);
                return ByteLevelBpeTextTokenizer.Create(vocabulary, Strings(gguf, "tokenizer.ggml.merges"),
                    new SpecialTokens(specials, bos, eos is { } e ? [e] : []), pattern: null, path);
            case "llama":
                float[] scores = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.scores") is object[] s ? s.Select(Convert.ToSingle).ToArray() : new float[tokens.Length];
                var pieces = tokens.Select((token, i) => new SentencePiece(token, scores[i], (SentencePieceKind)(types[i] is >= 1 and <= 6 ? types[i] : 1))).ToList();
                byte[] model = SentencePieceModelWriter.Write(pieces, byteFallback: types.Contains(6), addDummyPrefix: gguf.Metadata.GetValueOrDefault("tokenizer.ggml.add_space_prefix") as bool? ?? true,
                    unknownId: (int?)gguf.Integer("tokenizer.ggml.unknown_token_id") ?? 0, bosId: bos ?? 1, eosId: eos ?? 2);
                using (var stream = new MemoryStream(model))
                {
                    return SentencePieceTextTokenizer.Load(stream, path);
                }
            case var other:
                throw new ModelFormatException(path, $"vocabulary type '{other}' is not read; gpt2 (byte-level BPE) and llama (SentencePiece) are");
        }
    }

    private static ModelConfig ReadConfig(GgufFile gguf)
    {
        string architecture = gguf.String("general.architecture") ?? throw new ModelFormatException(gguf.Path, "has no general.architecture");
        if (!Architectures.TryGetValue(architecture, out string? hfArchitecture))
        {
            throw new ModelFormatException(gguf.Path, $"architecture '{architecture}' is not read; supported: {string.Join(", ", Architectures.Keys)}");
        }
        string a = architecture;
        if (gguf.Integer($"{a}.expert_count") is > 0)
        {
            throw new ModelFormatException(gguf.Path, "is a Mixture-of-Experts model; only dense GGUF models are read as sources");
        }
        if (gguf.Metadata.GetValueOrDefault($"{a}.feed_forward_length") is object[])
        {
            throw new ModelFormatException(gguf.Path, "has a feed-forward width per layer, which this SDK does not run");
        }
        if (gguf.Tensors.ContainsKey("rope_freqs.weight") || gguf.String($"{a}.rope.scaling.type") is { } scaling && scaling != "linear" && scaling != "none")
        {
            throw new ModelFormatException(gguf.Path, "uses rope scaling other than linear (rope_freqs or yarn), which is not read from GGUF; load the Hugging Face model instead");
        }
        if (!gguf.Tensors.TryGetValue("token_embd.weight", out var embedding) || embedding.Shape.Length != 2)
        {
            throw new ModelFormatException(gguf.Path, "has no 2-D token_embd.weight");
        }
        int hidden = gguf.RequiredInt($"{a}.embedding_length");
        int heads = gguf.RequiredInt($"{a}.attention.head_count");
        int headDim = (int?)gguf.Integer($"{a}.attention.key_length") ?? hidden / heads;
        if (gguf.Integer($"{a}.rope.dimension_count") is { } rotary && rotary != headDim)
        {
            throw new ModelFormatException(gguf.Path, $"rotates {rotary} of {headDim} head channels; partial rotary embeddings are not supported");
        }
        var config = new ModelConfig
        {
            Architecture = hfArchitecture,
            HiddenSize = hidden,
            IntermediateSize = gguf.RequiredInt($"{a}.feed_forward_length"),
            NumLayers = gguf.RequiredInt($"{a}.block_count"),
            NumHeads = heads,
            NumKeyValueHeads = (int?)gguf.Integer($"{a}.attention.head_count_kv") ?? heads,
            VocabSize = checked((int)embedding.Shape[0]),
            MaxPositions = gguf.RequiredInt($"{a}.context_length"),
            RmsNormEpsilon = gguf.Number($"{a}.attention.layer_norm_rms_epsilon") ?? 1e-5,
            RopeTheta = gguf.Number($"{a}.rope.freq_base") ?? 10000,
            RopeScaling = gguf.String($"{a}.rope.scaling.type") == "linear" ? new RopeScaling("linear", gguf.Number($"{a}.rope.scaling.factor") ?? 1) : null,
            TieWordEmbeddings = !gguf.Tensors.ContainsKey("output.weight"),
            AttentionBias = gguf.Tensors.ContainsKey("blk.0.attn_q.bias"),
            QueryKeyNorm = architecture == "qwen3",
            BosTokenId = (int?)gguf.Integer("tokenizer.ggml.bos_token_id"),
            EosTokenIds = gguf.Integer("tokenizer.ggml.eos_token_id") is { } eos ? [(int)eos] : [],
        };
        config = headDim * heads != hidden ? config with { HeadDim = headDim } : config;
        config.Validate(gguf.Path);
        return config;
    }

    /// <summary>llama.cpp's name of the Hugging Face tensor <paramref name="name"/>.</summary>
    private static string GgufName(string name)
    {
        string[] parts = name.Split('.');
        if (name.StartsWith("model.layers.", StringComparison.Ordinal))
        {
            string part = string.Join('.', parts[3..]);
            string mapped = part switch
            {
                "input_layernorm.weight" => "attn_norm.weight",
                "post_attention_layernorm.weight" => "ffn_norm.weight",
                "self_attn.q_proj.weight" => "attn_q.weight",
                "self_attn.k_proj.weight" => "attn_k.weight",
                "self_attn.v_proj.weight" => "attn_v.weight",
                "self_attn.o_proj.weight" => "attn_output.weight",
                "self_attn.q_proj.bias" => "attn_q.bias",
                "self_attn.k_proj.bias" => "attn_k.bias",
                "self_attn.v_proj.bias" => "attn_v.bias",
                "self_attn.q_norm.weight" => "attn_q_norm.weight",
                "self_attn.k_norm.weight" => "attn_k_norm.weight",
                "mlp.gate_proj.weight" => "ffn_gate.weight",
                "mlp.up_proj.weight" => "ffn_up.weight",
                "mlp.down_proj.weight" => "ffn_down.weight",
                _ => throw new ArgumentException($"No GGUF name for '{name}'.", nameof(name)),
            };
            return $"blk.{parts[2]}.{mapped}";
        }
        return name switch
        {
            WeightNames.Embedding => "token_embd.weight",
            WeightNames.FinalNorm => "output_norm.weight",
            WeightNames.Head => "output.weight",
            _ => throw new ArgumentException($"No GGUF name for '{name}'.", nameof(name)),
        };
    }

    private static string[] Strings(GgufFile gguf, string key) => gguf.Metadata.GetValueOrDefault(key) is object[] values && values.All(v => v is string)
        ? values.Cast<string>().ToArray()
        : throw new ModelFormatException(gguf.Path, $"metadata '{key}' is missing or not a list of strings");

    /// <summary>
    /// Writes the GGUF file's vocabulary beside a model in the files <see cref="TokenizerLoader"/> reads (vocab.json +
    /// merges.txt, or tokenizer.model), so an artifact converted from a GGUF carries its tokenizer; returns their names.
    /// </summary>
    public static IReadOnlyList<string> WriteTokenizerFiles(string path, string folder)
    {
        using GgufFile gguf = GgufFile.Open(path);
        string[] tokens = Strings(gguf, "tokenizer.ggml.tokens");
        int[] types = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.token_type") is object[] t ? t.Select(Convert.ToInt32).ToArray() : new int[tokens.Length];
        if (gguf.String("tokenizer.ggml.model") == "gpt2")
        {
            var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < tokens.Length; i++)
            {
                vocabulary.TryAdd(tokens[i], i);
            }
            File.WriteAllText(System.IO.Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocabulary));
            File.WriteAllLines(System.IO.Path.Combine(folder, "merges.txt"), ["#version: 0.2", .. Strings(gguf, "tokenizer.ggml.merges")]);
            var decoder = Enumerable.Range(0, tokens.Length).Where(i => types[i] == 3)
                .ToDictionary(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), i => new { content = tokens[i], special = true });
            File.WriteAllText(System.IO.Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new
            {
                add_bos_token = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.add_bos_token") as bool? ?? false,
                bos_token = gguf.Integer("tokenizer.ggml.bos_token_id") is { } b ? tokens[b] : null,
                eos_token = gguf.Integer("tokenizer.ggml.eos_token_id") is { } e ? tokens[e] : null,
                added_tokens_decoder = decoder,
            }));
            return ["vocab.json", "merges.txt", "tokenizer_config.json"];
        }
        float[] scores = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.scores") is object[] s ? s.Select(Convert.ToSingle).ToArray() : new float[tokens.Length];
        var pieces = tokens.Select((token, i) => new SentencePiece(token, scores[i], (SentencePieceKind)(types[i] is >= 1 and <= 6 ? types[i] : 1))).ToList();
        File.WriteAllBytes(System.IO.Path.Combine(folder, "tokenizer.model"), SentencePieceModelWriter.Write(pieces, types.Contains(6),
            gguf.Metadata.GetValueOrDefault("tokenizer.ggml.add_space_prefix") as bool? ?? true, (int?)gguf.Integer("tokenizer.ggml.unknown_token_id") ?? 0,
            (int?)gguf.Integer("tokenizer.ggml.bos_token_id") ?? 1, (int?)gguf.Integer("tokenizer.ggml.eos_token_id") ?? 2));
        return ["tokenizer.model"];
    }
}
