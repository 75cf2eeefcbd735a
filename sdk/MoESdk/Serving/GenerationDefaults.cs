using System.Text.Json;
using MoESdk.Inference;
using MoESdk.Loading;

namespace MoESdk.Serving;

/// <summary>
/// The sampling a model's authors recommend, from its generation_config.json: used for a request that leaves
/// temperature, top-p or top-k unset. <c>"do_sample": false</c> means greedy decoding (temperature 0), as in transformers.
/// </summary>
/// <param name="Temperature">Temperature, or null when the file does not say.</param>
/// <param name="TopP">Top-p, or null when the file does not say.</param>
/// <param name="TopK">Top-k, or null when the file does not say.</param>
/// <param name="EosTokenIds">The <c>eos_token_id</c>s (one or a list) that end a generation.</param>
public sealed record GenerationDefaults(float? Temperature, float? TopP, int? TopK, IReadOnlyList<int> EosTokenIds)
{
    public static GenerationDefaults None { get; } = new(null, null, null, []);

    /// <summary>
    /// A request's sampling: each value it sets, else this model's, else greedy decoding over the whole vocabulary
    /// (temperature 0, top-p 1, top-k 0).
    /// </summary>
    public SamplingOptions Sampling(float? temperature, float? topP, int? topK, int? seed) => new()
    {
        Temperature = temperature ?? Temperature ?? 0f,
        TopP = topP ?? TopP ?? 1f,
        TopK = topK ?? TopK ?? 0,
        Seed = seed,
    };

    /// <summary>The defaults of the model at <paramref name="modelPath"/> (a folder, or a file in one); <see cref="None"/> without generation_config.json.</summary>
    /// <exception cref="ModelFormatException">The file is not valid JSON or a value has the wrong type.</exception>
    public static GenerationDefaults Load(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        string directory = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".";
        string path = Path.Combine(directory, "generation_config.json");
        if (!File.Exists(path))
        {
            return None;
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(path, "the top level is not a JSON object.");
            }
            bool greedy = root.TryGetProperty("do_sample", out JsonElement sample) && sample.ValueKind == JsonValueKind.False;
            IReadOnlyList<int> eos = root.TryGetProperty("eos_token_id", out JsonElement e) ? e.ValueKind switch
            {
                JsonValueKind.Number => [e.GetInt32()],
                JsonValueKind.Array => e.EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                _ => [],
            } : [];
            return new GenerationDefaults(
                greedy ? 0f : Number(root, "temperature") is double t ? (float)t : null,
                Number(root, "top_p") is double p ? (float)p : null,
                Number(root, "top_k") is double k ? (int)k : null,
                eos);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException(path, $"not a valid generation config: {e.Message} (temperature, top_p and top_k are numbers; eos_token_id is an integer or a list of integers).", e);
        }
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value.GetDouble() : null;
}
