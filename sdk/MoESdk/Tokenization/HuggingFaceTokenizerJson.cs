using System.Text.Json;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> whose model is BPE and hands it to Microsoft.ML.Tokenizers:
/// byte-level BPE (GPT-2, Qwen2, LLaMA-3) goes to <see cref="ByteLevelBpeTextTokenizer"/>; SentencePiece-style BPE
/// (LLaMA-2, Mistral: '▁' for spaces, byte fallback) is rebuilt as a SentencePiece model. Other models (Unigram,
/// WordPiece) are reported as not supported.
/// </summary>
internal static class HuggingFaceTokenizerJson
{
    private const string Metaspace = "▁";

    public static ITextTokenizer Load(string path)
    {
        JsonElement root;
        byte[] bytes = File.ReadAllBytes(path);
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            // JsonDocument checks the UTF-8 of a string only when it is read, and then throws InvalidOperationException.
            throw new ModelFormatException(path, "not UTF-8 text; the file is corrupt");
        }
        try
        {
            using var document = JsonDocument.Parse(bytes);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "no \"model\" object; not a Hugging Face tokenizer.json");
        }
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
        {
            throw new ModelFormatException(path, $"not supported: tokenizer model type '{type}'; only BPE models (byte-level or SentencePiece-style) can be loaded");
        }

        try
        {
            var vocabulary = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
            var merges = model.GetProperty("merges").EnumerateArray().Select(MergeText).ToList();
            var added = root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(x => KeyValuePair.Create(x.GetProperty("content").GetString()!, x.GetProperty("id").GetInt32())).ToList()
                : [];
            CheckIds(path, vocabulary.Values.Concat(added.Select(token => token.Value)));

            if (ContainsType(root, "ByteLevel"))
            {
                var specials = SpecialTokenFiles.Read(Path.GetDirectoryName(Path.GetFullPath(path))!, vocabulary, added);
                return ByteLevelBpeTextTokenizer.Create(vocabulary, merges, specials, SplitPattern(root), path);
            }
            if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True || vocabulary.ContainsKey(Metaspace))
            {
                return AsSentencePiece(path, root, model, vocabulary, merges, added);
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new ModelFormatException(path, $"the BPE model is incomplete or malformed: {e.Message}", e);
        }
        throw new ModelFormatException(path, "not supported: a BPE model that is neither byte-level nor SentencePiece-style ('▁' spaces)");
    }

    /// <summary>Merges are "a b" strings, or [a, b] arrays in files written by tokenizers 0.20 and later.</summary>
    // Tables are sized by the largest id: ids far beyond the number of tokens are a corrupt or hostile file
    // that would otherwise allocate gigabytes. Real files number their tokens densely from 0.
    private static void CheckIds(string path, IEnumerable<int> ids)
    {
        int[] all = ids.Distinct().ToArray();
        long limit = (2L * all.Length) + 1024;
        if (all.FirstOrDefault(id => id < 0 || id >= limit) is var bad && (bad < 0 || bad >= limit))
        {
            throw new ModelFormatException(path, $"token id {bad} is outside 0..{limit - 1} for {all.Length} tokens; the file is corrupt");
        }
    }

    private static string MergeText(JsonElement merge) => merge.ValueKind == JsonValueKind.Array
        ? $"{merge[0].GetString()} {merge[1].GetString()}"
        : merge.GetString() ?? throw new FormatException("a merge is null");

    private static ITextTokenizer AsSentencePiece(string path, JsonElement root, JsonElement model, Dictionary<string, int> vocabulary, List<string> merges, List<KeyValuePair<string, int>> added)
    {
        // SentencePiece BPE merges the adjacent pair whose result scores highest; the merge rank gives that order.
        var score = new Dictionary<string, float>(StringComparer.Ordinal);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            score.TryAdd(merges[rank].Replace(" ", "", StringComparison.Ordinal), -rank);
        }
        var addedIds = added.ToDictionary(p => p.Value, p => p.Key);
        var unknown = model.TryGetProperty("unk_token", out var u) ? u.GetString() : null;
        var size = Math.Max(vocabulary.Values.DefaultIfEmpty(-1).Max(), addedIds.Keys.DefaultIfEmpty(-1).Max()) + 1;
        var byId = new string?[size];
        foreach (var (token, id) in vocabulary)
        {
            byId[id] = token;
        }
        foreach (var (id, token) in addedIds)
        {
            byId[id] = token;
        }
        var pieces = new SentencePiece[size];
        for (var id = 0; id < size; id++)
        {
            var token = byId[id];
            pieces[id] = token switch
            {
                null => new SentencePiece($"<unused{id}>", 0, SentencePieceKind.Unused),
                _ when token == unknown => new SentencePiece(token, 0, SentencePieceKind.Unknown),
                _ when addedIds.ContainsKey(id) => new SentencePiece(token, 0, SentencePieceKind.Control),
                _ when token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token.EndsWith('>') => new SentencePiece(token, 0, SentencePieceKind.Byte),
                _ => new SentencePiece(token, score.GetValueOrDefault(token), SentencePieceKind.Normal),
            };
        }
        var specials = SpecialTokenFiles.Read(Path.GetDirectoryName(Path.GetFullPath(path))!, vocabulary, added);
        var byteFallback = model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;
        // LLaMA-2's files prepend '▁' with a normalizer ("Prepend"), newer ones with a Metaspace pre-tokenizer.
        var dummyPrefix = ContainsType(root, "Prepend") || Components(root).Any(c => c.GetProperty("type").GetString() == "Metaspace"
            && (c.TryGetProperty("prepend_scheme", out var scheme) ? scheme.GetString() != "never" : !c.TryGetProperty("add_prefix_space", out var prefix) || prefix.ValueKind == JsonValueKind.True));
        var proto = SentencePieceModelWriter.Write(pieces, byteFallback, dummyPrefix,
            unknown is not null && vocabulary.TryGetValue(unknown, out var unknownId) ? unknownId : 0,
            specials.BosId ?? 1, specials.EosIds.Count > 0 ? specials.EosIds[0] : 2);
        using var stream = new MemoryStream(proto);
        return SentencePieceTextTokenizer.Load(stream, path);
    }

    /// <summary>The regular expression of a "Split" pre-tokenizer, which Qwen2 and LLaMA-3 put before ByteLevel.</summary>
    private static string? SplitPattern(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Split"
                && element.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("Regex", out var regex))
            {
                return regex.GetString();
            }
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name != "model" && SplitPattern(property.Value) is { } found)
                {
                    return found;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                if (SplitPattern(item) is { } found)
                {
                    return found;
                }
            }
        }
        return null;
    }

    /// <summary>Whether a normalizer, pre-tokenizer or decoder of this type appears anywhere outside the model.</summary>
    private static bool ContainsType(JsonElement root, string type) =>
        new[] { "normalizer", "pre_tokenizer", "decoder" }.Any(section => root.TryGetProperty(section, out var s) && Components(s).Any(c => c.GetProperty("type").GetString() == type));

    /// <summary>The element and every object nested in it that has a "type".</summary>
    private static IEnumerable<JsonElement> Components(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String)
            {
                yield return element;
            }
            foreach (var nested in element.EnumerateObject().SelectMany(p => Components(p.Value)))
            {
                yield return nested;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var nested in element.EnumerateArray().SelectMany(Components))
            {
                yield return nested;
            }
        }
    }
}
