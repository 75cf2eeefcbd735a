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

    private sealed record Family(string Architecture, string ModelType, int DefaultMaxPositions, bool AttentionBias, bool QueryKeyNorm = false);

    // Qwen2 is LLaMA with biases on q/k/v; Qwen3 is LLaMA with per-head q/k RMSNorm and its own head_dim; Mistral is
    // LLaMA (its sliding window is not applied: it only matters past 4096 tokens).
    private static readonly Family[] Families =
    [
        new("LlamaForCausalLM", "llama", 2048, AttentionBias: false),
        new("MistralForCausalLM", "mistral", 32768, AttentionBias: false),
        new("Qwen2ForCausalLM", "qwen2", 32768, AttentionBias: true),
        new("Qwen3ForCausalLM", "qwen3", 40960, AttentionBias: false, QueryKeyNorm: true),
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
            IntermediateSize = keys.RequiredInt("intermediate_size"),
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
        };
        // An explicit head_dim that hidden_size / heads would give anyway changes nothing.
        return headDim is { } explicitWidth && explicitWidth * heads != hidden ? config with { HeadDim = explicitWidth } : config;
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
    public static string ToJson(ModelConfig config)
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
            if (config.HeadDim * config.NumHeads != config.HiddenSize)
            {
                json.WriteNumber("head_dim", config.HeadDim);
            }
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteNumber("max_position_embeddings", config.MaxPositions);
            json.WriteNumber("rms_norm_eps", config.RmsNormEpsilon);
            json.WriteNumber("rope_theta", config.RopeTheta);
            WriteRopeScaling(json, config.RopeScaling);
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            json.WriteBoolean("attention_bias", config.AttentionBias);
            if (config.BosTokenId is { } bos)
            {
                json.WriteNumber("bos_token_id", bos);
            }
            WriteEos(json, config.EosTokenIds);
            json.WriteString("torch_dtype", "float32");
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
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
        json.WriteNumber("factor", scaling.Factor);
        if (scaling.Type == "llama3")
        {
            json.WriteNumber("low_freq_factor", scaling.LowFrequencyFactor);
            json.WriteNumber("high_freq_factor", scaling.HighFrequencyFactor);
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
