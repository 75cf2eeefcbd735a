using System.Text.Json;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// Reads the Hugging Face files beside a vocabulary that say which tokens are special and which start and end a
/// sequence: tokenizer_config.json, special_tokens_map.json and generation_config.json (where LLaMA-3 lists
/// several end ids).
/// </summary>
internal static class SpecialTokenFiles
{
    public static SpecialTokens Read(string directory, IReadOnlyDictionary<string, int> vocabulary, IEnumerable<KeyValuePair<string, int>> addedTokens)
    {
        var ids = new Dictionary<string, int>(addedTokens, StringComparer.Ordinal);
        string? bos = null;
        var bosDeclared = false;
        var eos = new List<string>();

        var config = ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        var map = ReadJson(Path.Combine(directory, "special_tokens_map.json"));
        foreach (var root in new[] { config, map })
        {
            if (root is not { } r)
            {
                continue;
            }
            if (r.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in decoder.EnumerateObject())
                {
                    if (int.TryParse(entry.Name, out var id) && TokenContent(entry.Value) is { } content)
                    {
                        ids.TryAdd(content, id);
                    }
                }
            }
            if (r.TryGetProperty("additional_special_tokens", out var additional) && additional.ValueKind == JsonValueKind.Array)
            {
                foreach (var token in additional.EnumerateArray())
                {
                    AddFromVocabulary(ids, vocabulary, TokenContent(token));
                }
            }
            if (!bosDeclared && r.TryGetProperty("bos_token", out var b))
            {
                // An explicit null (Qwen) means the model has no BOS: no conventional name stands in for it.
                bos = TokenContent(b);
                bosDeclared = true;
            }
            if (eos.Count == 0 && r.TryGetProperty("eos_token", out var e) && TokenContent(e) is { } eosToken)
            {
                eos.Add(eosToken);
            }
        }

        // Files without a config (a bare vocab.json, tokenizer.json alone) still use the conventional names.
        if (!bosDeclared)
        {
            bos = FirstKnown(ids, vocabulary, "<s>", "<|begin_of_text|>");
        }
        if (eos.Count == 0 && FirstKnown(ids, vocabulary, "</s>", "<|endoftext|>", "<|end_of_text|>") is { } fallback)
        {
            eos.Add(fallback);
        }

        AddFromVocabulary(ids, vocabulary, bos);
        foreach (var token in eos)
        {
            AddFromVocabulary(ids, vocabulary, token);
        }

        var eosIds = eos.Where(ids.ContainsKey).Select(t => ids[t]).ToList();
        int? bosId = bos is not null && ids.TryGetValue(bos, out var found) ? found : null;
        if (ReadJson(Path.Combine(directory, "generation_config.json")) is { } generation)
        {
            if (generation.TryGetProperty("eos_token_id", out var eosId))
            {
                eosIds.AddRange(eosId.ValueKind == JsonValueKind.Array ? eosId.EnumerateArray().Select(x => x.GetInt32()) : eosId.ValueKind == JsonValueKind.Number ? [eosId.GetInt32()] : []);
            }
            if (bosId is null && !bosDeclared && generation.TryGetProperty("bos_token_id", out var bosIdElement) && bosIdElement.ValueKind == JsonValueKind.Number)
            {
                bosId = bosIdElement.GetInt32();
            }
        }

        return new SpecialTokens(ids, bosId, eosIds.Distinct().ToArray());
    }

    /// <summary>A special token is written either as its text or as an object whose "content" is the text.</summary>
    public static string? TokenContent(JsonElement token) => token.ValueKind switch
    {
        JsonValueKind.String => token.GetString(),
        JsonValueKind.Object when token.TryGetProperty("content", out var content) => content.GetString(),
        _ => null,
    };

    private static void AddFromVocabulary(Dictionary<string, int> ids, IReadOnlyDictionary<string, int> vocabulary, string? token)
    {
        if (token is not null && !ids.ContainsKey(token) && vocabulary.TryGetValue(token, out var id))
        {
            ids[token] = id;
        }
    }

    private static string? FirstKnown(Dictionary<string, int> ids, IReadOnlyDictionary<string, int> vocabulary, params string[] candidates) =>
        candidates.FirstOrDefault(c => ids.ContainsKey(c) || vocabulary.ContainsKey(c));

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : throw new JsonException("the top level is not an object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"not valid JSON: {e.Message}", e);
        }
    }
}
