using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MoESdk.Loading;

/// <summary>
/// Reads and writes Hugging Face <c>config.json</c> for the LLaMA-family architectures this SDK runs.
/// Defaults for absent keys are those of the transformers config classes.
/// </summary>
internal static class HuggingFaceConfig
{
    /// <summary>The file name of a Hugging Face model configuration.</summary>
    public const string FileName = "config.json";

    private sealed record Family(string Architecture, string ModelType, int DefaultMaxPositions, bool AttentionBias, bool QueryKeyNorm = false, bool Mixture = false,
        bool SlidingWindow = false, int? DefaultSlidingWindow = null);

    /// <summary>The Hugging Face class of Mixture-of-Experts models without a shared expert.</summary>
    public const string Mixtral = "MixtralForCausalLM";

    /// <summary>The Hugging Face class of Mixture-of-Experts models with a gated shared expert.</summary>
    public const string Qwen2Moe = "Qwen2MoeForCausalLM";

    /// <summary>The Hugging Face class of Mixture-of-Experts models with Qwen3's attention (per-head q/k norms) and no shared expert.</summary>
    public const string Qwen3Moe = "Qwen3MoeForCausalLM";

    // Qwen2 is LLaMA with biases on q/k/v; Qwen3 is LLaMA with per-head q/k RMSNorm and its own head_dim; Mistral is
    // LLaMA with a sliding window (4096 unless config.json says otherwise, null for none), as Mixtral may have.
    private static readonly Family[] Families =
    [
        new("LlamaForCausalLM", "llama", 2048, AttentionBias: false),
        new("MistralForCausalLM", "mistral", 32768, AttentionBias: false, SlidingWindow: true, DefaultSlidingWindow: 4096),
        new("Qwen2ForCausalLM", "qwen2", 32768, AttentionBias: true),
        new("Qwen3ForCausalLM", "qwen3", 40960, AttentionBias: false, QueryKeyNorm: true),
        new(Mixtral, "mixtral", 131072, AttentionBias: false, Mixture: true, SlidingWindow: true),
        new(Qwen2Moe, "qwen2_moe", 8192, AttentionBias: true, Mixture: true),
        new(Qwen3Moe, "qwen3_moe", 32768, AttentionBias: false, QueryKeyNorm: true, Mixture: true),
    ];

    /// <summary>Architectures that <see cref="Read"/> accepts.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = Families.Select(family => family.Architecture).ToArray();

    /// <summary>Reads and validates the <c>config.json</c> at <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Missing, malformed, unsupported or inconsistent.</exception>
    public static ModelConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, "file not found");
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses <paramref name="json"/>; <paramref name="source"/> names it in error messages.</summary>
    public static ModelConfig Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException exception)
        {
            throw new ModelFormatException(source, $"is not valid JSON ({exception.Message})", exception);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(source, "is not a JSON object");
            }
            ModelConfig config = Parse(new Keys(document.RootElement, source));
            config.Validate(source);
            return config;
        }
    }

    private static ModelConfig Parse(Keys keys)
    {
        Family family = FamilyOf(keys);
        if (keys.String("hidden_act") is { } activation && activation != "silu")
        {
            throw keys.Error($"hidden_act '{activation}' is not supported; LLaMA-family models use silu");
        }
        if (keys.Bool("mlp_bias") == true)
        {
            throw keys.Error("mlp_bias is not supported; the MLP projections must have no bias");
        }

        int hidden = keys.RequiredInt("hidden_size");
        int heads = keys.RequiredInt("num_attention_heads");
        int? headDim = keys.Int("head_dim");
        if (headDim is <= 0)
        {
            throw keys.Error($"head_dim {headDim} must be positive");
        }
        int maxPositions = keys.Int("max_position_embeddings") ?? family.DefaultMaxPositions;
        ModelConfig config = new()
        {
            Architecture = family.Architecture,
            HiddenSize = hidden,
            // Qwen2-MoE's intermediate_size is the width of dense layers, which a model of only MoE layers does not have.
            IntermediateSize = family.Architecture switch
            {
                Qwen2Moe => keys.Int("intermediate_size") ?? 5632,
                Qwen3Moe => keys.Int("intermediate_size") ?? 6144,
                _ => keys.RequiredInt("intermediate_size"),
            },
            NumLayers = keys.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = keys.Int("num_key_value_heads") ?? heads,
            VocabSize = keys.RequiredInt("vocab_size"),
            MaxPositions = maxPositions,
            RmsNormEpsilon = keys.Double("rms_norm_eps") ?? 1e-6,
            RopeTheta = keys.Double("rope_theta") ?? 10000.0,
            RopeScaling = ParseRopeScaling(keys, maxPositions),
            TieWordEmbeddings = keys.Bool("tie_word_embeddings") ?? false,
            AttentionBias = family.AttentionBias || (keys.Bool("attention_bias") ?? false),
            BosTokenId = keys.Int("bos_token_id"),
            EosTokenIds = keys.IntOrIntList("eos_token_id"),
            QueryKeyNorm = family.QueryKeyNorm,
            Mixture = family.Mixture ? ParseMixture(keys, family) : null,
            SlidingWindow = family.SlidingWindow ? (keys.Element("sliding_window") is null ? family.DefaultSlidingWindow : keys.Int("sliding_window")) : null,
        };
        // An explicit head_dim that hidden_size / heads would give anyway changes nothing.
        return headDim is { } explicitWidth && explicitWidth * heads != hidden ? config with { HeadDim = explicitWidth } : config;
    }

    /// <summary>The MoE keys, with the defaults of transformers' MixtralConfig and Qwen2MoeConfig.</summary>
    private static MixtureConfig ParseMixture(Keys keys, Family family)
    {
        if (family.Architecture == Mixtral)
        {
            return new MixtureConfig(keys.Int("num_local_experts") ?? 8, keys.Int("num_experts_per_tok") ?? 2,
                keys.RequiredInt("intermediate_size"), SharedWidth: 0, NormalizeTopK: true);
        }
        if ((keys.Int("decoder_sparse_step") ?? 1) != 1
            || keys.Element("mlp_only_layers") is { ValueKind: JsonValueKind.Array } dense && dense.GetArrayLength() > 0)
        {
            throw keys.Error("has dense layers among its MoE layers (decoder_sparse_step other than 1 or a non-empty mlp_only_layers), which is not supported");
        }
        if (family.Architecture == Qwen3Moe)
        {
            return new MixtureConfig(keys.Int("num_experts") ?? 128, keys.Int("num_experts_per_tok") ?? 8,
                keys.Int("moe_intermediate_size") ?? 768, SharedWidth: 0, keys.Bool("norm_topk_prob") ?? false);
        }
        int shared = keys.Int("shared_expert_intermediate_size") ?? 5632;
        if (shared < 1)
        {
            throw keys.Error($"shared_expert_intermediate_size is {shared}; a Qwen2-MoE model has a shared expert of positive width");
        }
        return new MixtureConfig(keys.Int("num_experts") ?? 60, keys.Int("num_experts_per_tok") ?? 4,
            keys.Int("moe_intermediate_size") ?? 1408, shared, keys.Bool("norm_topk_prob") ?? false);
    }

    private static Family FamilyOf(Keys keys)
    {
        string supported = string.Join(", ", SupportedArchitectures);
        if (keys.Element("architectures") is { } architectures)
        {
            if (architectures.ValueKind != JsonValueKind.Array || architectures.GetArrayLength() == 0
                || architectures[0].ValueKind != JsonValueKind.String)
            {
                throw keys.Error("\"architectures\" must be a non-empty list of names");
            }
            string name = architectures[0].GetString()!;
            return Families.FirstOrDefault(family => family.Architecture == name)
                ?? throw keys.Error($"architecture '{name}' is not supported; supported: {supported}");
        }
        // Some configs name only the model type.
        string modelType = keys.String("model_type")
            ?? throw keys.Error($"names neither \"architectures\" nor \"model_type\"; supported architectures: {supported}");
        return Families.FirstOrDefault(family => family.ModelType == modelType)
            ?? throw keys.Error($"model_type '{modelType}' is not supported; supported architectures: {supported}");
    }

    private static RopeScaling? ParseRopeScaling(Keys keys, int maxPositions)
    {
        if (keys.Element("rope_scaling") is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw keys.Error("\"rope_scaling\" must be an object or null");
        }
        var scaling = new Keys(element, keys.Source, "rope_scaling.");
        // transformers renamed "type" to "rope_type"; files in the wild use either.
        string type = scaling.String("rope_type") ?? scaling.String("type")
            ?? throw keys.Error("\"rope_scaling\" has neither \"rope_type\" nor \"type\"");
        return type switch
        {
            "default" => null,
            "linear" => new RopeScaling(type, scaling.RequiredDouble("factor")),
            "dynamic" => new RopeScaling(type, scaling.RequiredDouble("factor"),
                OriginalMaxPositions: scaling.Int("original_max_position_embeddings") ?? maxPositions),
            "llama3" => new RopeScaling(type, scaling.RequiredDouble("factor"),
                scaling.RequiredDouble("low_freq_factor"), scaling.RequiredDouble("high_freq_factor"),
                scaling.RequiredInt("original_max_position_embeddings")),
            _ => throw keys.Error($"rope_scaling type '{type}' is not supported; supported: linear, dynamic, llama3"),
        };
    }

    /// <summary>Writes <paramref name="config"/> as a <c>config.json</c> that transformers and <see cref="Read"/> accept.</summary>
    public static void Write(string path, ModelConfig config) =>
        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(ToJson(config))));

    /// <summary>The <c>config.json</c> text for <paramref name="config"/>, under its own architecture.</summary>
    public static string ToJson(ModelConfig config) => ToJson(config, "float32");

    /// <summary>The <c>config.json</c> text for <paramref name="config"/> whose weights are stored as <paramref name="torchDtype"/>.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="torchDtype">The weights' type as transformers names it (torch_dtype): float32, float16 or bfloat16.</param>
    public static string ToJson(ModelConfig config, string torchDtype)
    {
        ArgumentNullException.ThrowIfNull(config);
        Family family = Families.FirstOrDefault(family => family.Architecture == config.Architecture)
            ?? throw new ArgumentException($"Architecture '{config.Architecture}' is not one of {string.Join(", ", SupportedArchitectures)}.", nameof(config));
        if (family.AttentionBias != config.AttentionBias && family.ModelType != "llama")
        {
            throw new ArgumentException($"{family.Architecture} cannot express AttentionBias = {config.AttentionBias}; write it as LlamaForCausalLM.", nameof(config));
        }
        if (family.QueryKeyNorm != config.QueryKeyNorm)
        {
            throw new ArgumentException($"{family.Architecture} cannot express QueryKeyNorm = {config.QueryKeyNorm}.", nameof(config));
        }
        if (config.SlidingWindow is not null && !family.SlidingWindow)
        {
            throw new ArgumentException($"{family.Architecture} cannot express a sliding window of {config.SlidingWindow}.", nameof(config));
        }
        if (family.Mixture != config.Mixture is not null
            || config.Mixture is { } m && family.Architecture switch
            {
                Mixtral => m.SharedWidth != 0 || !m.NormalizeTopK,
                Qwen3Moe => m.SharedWidth != 0,
                _ => m.SharedWidth == 0,
            })
        {
            throw new ArgumentException($"{family.Architecture} cannot express the feed-forward blocks {(object?)config.Mixture ?? "dense"}.", nameof(config));
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue(family.Architecture);
            json.WriteEndArray();
            json.WriteString("model_type", family.ModelType);
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteNumber("num_hidden_layers", config.NumLayers);
            json.WriteNumber("num_attention_heads", config.NumHeads);
            json.WriteNumber("num_key_value_heads", config.NumKeyValueHeads);
            // Always written: Qwen3's configs default head_dim to 128 rather than hidden size / heads.
            json.WriteNumber("head_dim", config.HeadDim);
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteNumber("max_position_embeddings", config.MaxPositions);
            WriteFloat(json, "rms_norm_eps", config.RmsNormEpsilon);
            WriteFloat(json, "rope_theta", config.RopeTheta);
            WriteRopeScaling(json, config.RopeScaling);
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            json.WriteBoolean("attention_bias", config.AttentionBias);
            if (config.BosTokenId is { } bos)
            {
                json.WriteNumber("bos_token_id", bos);
            }
            WriteEos(json, config.EosTokenIds);
            if (family.SlidingWindow)
            {
                WriteNullable(json, "sliding_window", config.SlidingWindow);
            }
            if (config.Mixture is { } mixture)
            {
                WriteMixture(json, family, mixture);
            }
            json.WriteString("torch_dtype", torchDtype);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The MoE keys of MixtralConfig / Qwen2MoeConfig, with transformers' defaults for the training-only ones.</summary>
    private static void WriteMixture(Utf8JsonWriter json, Family family, MixtureConfig mixture)
    {
        json.WriteNumber("num_experts_per_tok", mixture.ExpertsPerToken);
        if (family.Architecture == Mixtral)
        {
            json.WriteNumber("num_local_experts", mixture.Experts);
            WriteFloat(json, "router_jitter_noise", 0.0);
        }
        else
        {
            json.WriteNumber("num_experts", mixture.Experts);
            json.WriteNumber("moe_intermediate_size", mixture.ExpertWidth);
            if (family.Architecture == Qwen2Moe)
            {
                json.WriteNumber("shared_expert_intermediate_size", mixture.SharedWidth);
            }
            json.WriteBoolean("norm_topk_prob", mixture.NormalizeTopK);
            json.WriteNumber("decoder_sparse_step", 1);
            json.WriteStartArray("mlp_only_layers");
            json.WriteEndArray();
            json.WriteBoolean("use_sliding_window", false);
        }
        json.WriteBoolean("output_router_logits", false);
        WriteFloat(json, "router_aux_loss_coef", 0.001);
        WriteFloat(json, "attention_dropout", 0.0);
        WriteFloat(json, "initializer_range", 0.02);
        json.WriteBoolean("use_cache", true);
    }

    // A float key written with a decimal point (10000.0, not 10000): Python reads "0" as an int, and transformers'
    // config classes check their float fields' types (MixtralConfig refuses router_jitter_noise = 0).
    private static void WriteFloat(Utf8JsonWriter json, string key, double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        json.WritePropertyName(key);
        json.WriteRawValue(text.AsSpan().IndexOfAny('.', 'E') < 0 ? text + ".0" : text);
    }

    private static void WriteNullable(Utf8JsonWriter json, string key, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(key, number);
        }
        else
        {
            json.WriteNull(key);
        }
    }

    private static void WriteRopeScaling(Utf8JsonWriter json, RopeScaling? scaling)
    {
        if (scaling is null)
        {
            json.WriteNull("rope_scaling");
            return;
        }
        json.WriteStartObject("rope_scaling");
        json.WriteString("rope_type", scaling.Type);
        WriteFloat(json, "factor", scaling.Factor);
        if (scaling.Type == "llama3")
        {
            WriteFloat(json, "low_freq_factor", scaling.LowFrequencyFactor);
            WriteFloat(json, "high_freq_factor", scaling.HighFrequencyFactor);
        }
        if (scaling.Type is "llama3" or "dynamic")
        {
            json.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositions);
        }
        json.WriteEndObject();
    }

    private static void WriteEos(Utf8JsonWriter json, IReadOnlyList<int> eos)
    {
        if (eos.Count == 1)
        {
            json.WriteNumber("eos_token_id", eos[0]);
        }
        else if (eos.Count > 1)
        {
            json.WriteStartArray("eos_token_id");
            foreach (int id in eos)
            {
                json.WriteNumberValue(id);
            }
            json.WriteEndArray();
        }
    }

    /// <summary>Typed access to the keys of one JSON object, with errors that name the file and the key.</summary>
    private sealed record Keys(JsonElement Object, string Source, string Prefix = "")
    {
        public ModelFormatException Error(string problem) => new(Source, problem);

        public JsonElement? Element(string key) => Object.TryGetProperty(key, out JsonElement value) ? value : null;

        private JsonElement? Present(string key) => Element(key) is { ValueKind: not JsonValueKind.Null } value ? value : null;

        public string? String(string key) => Present(key) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            { } value => throw Wrong(key, "a string", value),
        };

        public bool? Bool(string key) => Present(key) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            { } value => throw Wrong(key, "true or false", value),
        };

        public int? Int(string key) => Present(key) is { } value ? ToInt(key, value) : null;

        public double? Double(string key) => Present(key) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
            { } value => throw Wrong(key, "a number", value),
        };

        public int RequiredInt(string key) => Int(key) ?? throw Missing(key);

        public double RequiredDouble(string key) => Double(key) ?? throw Missing(key);

        public IReadOnlyList<int> IntOrIntList(string key) => Present(key) switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } list => list.EnumerateArray().Select(item => ToInt(key, item)).ToArray(),
            { } value => [ToInt(key, value)],
        };

        private int ToInt(string key, JsonElement value) =>
            value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) ? number : throw Wrong(key, "an integer", value);

        private ModelFormatException Missing(string key) => Error($"required key \"{Prefix}{key}\" is missing");

        private ModelFormatException Wrong(string key, string expected, JsonElement value) =>
            Error($"\"{Prefix}{key}\" must be {expected}, found {value.GetRawText()}");
    }
}
