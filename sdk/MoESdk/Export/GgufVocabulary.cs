using System.Globalization;
using System.Text;
using System.Text.Json;
using MoESdk.Loading;

namespace MoESdk.Export;

/// <summary>
/// The tokenizer of a model as llama.cpp reads it from GGUF metadata (<c>tokenizer.ggml.*</c>): a byte-level
/// BPE vocabulary with its merges (<c>gpt2</c>, from vocab.json + merges.txt or a byte-level tokenizer.json), a
/// SentencePiece <c>tokenizer.model</c> or a llama2.c <c>tokenizer.bin</c> with scores (<c>llama</c>), or, for a model that has no
/// tokenizer, numbered placeholder tokens so the file still loads and runs on token ids.
/// </summary>
internal sealed record GgufVocabulary(string Model, string? PreTokenizer, IReadOnlyList<string> Tokens, IReadOnlyList<float>? Scores,
    IReadOnlyList<int> Types, IReadOnlyList<string>? Merges, int? BosId, int? EosId, int? UnknownId, bool? AddSpacePrefix = null)
{
    /// <summary>Whether llama.cpp puts BOS before a prompt: what MoESdk does with the model, set by <see cref="Read"/>.</summary>
    public bool AddBos { get; init; }

    // llama.cpp's token types (llama_token_type).
    private const int Normal = 1;
    private const int Unknown = 2;
    private const int Control = 3;
    private const int Unused = 5;
    private const int Byte = 6;

    /// <summary>
    /// The vocabulary of the model at <paramref name="modelPath"/> (folder, or checkpoint file whose folder holds the
    /// tokenizer), padded to the embedding rows of <paramref name="config"/>; llama.cpp adds BOS before a prompt as
    /// <paramref name="addBos"/> says.
    /// </summary>
    /// <exception cref="ModelFormatException">The tokenizer is of a kind not exported, or larger than the model's vocabulary.</exception>
    public static GgufVocabulary Read(string modelPath, ModelConfig config, bool addBos)
    {
        string folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        string File(string name) => Path.Combine(folder, name);
        GgufVocabulary vocabulary;
        // A SentencePiece-style tokenizer.json (LLaMA-2, Mistral) ships beside its tokenizer.model, which has the scores.
        if (System.IO.File.Exists(File("tokenizer.json")) && (IsByteLevel(File("tokenizer.json")) || !System.IO.File.Exists(File("tokenizer.model"))))
        {
            vocabulary = FromTokenizerJson(File("tokenizer.json"), config);
        }
        else if (System.IO.File.Exists(File("tokenizer.model")))
        {
            vocabulary = FromSentencePiece(File("tokenizer.model"), config, folder);
        }
        else if (System.IO.File.Exists(File("vocab.json")) && System.IO.File.Exists(File("merges.txt")))
        {
            vocabulary = FromVocabAndMerges(File("vocab.json"), ReadMergesFile(File("merges.txt")), [], config, folder);
        }
        else if (System.IO.File.Exists(File("tokenizer.bin")))
        {
            vocabulary = FromLlama2c(File("tokenizer.bin"));
        }
        else
        {
            vocabulary = Placeholder(config);
        }
        if (vocabulary.Tokens.Count > config.VocabSize)
        {
            throw new ModelFormatException(folder, $"the tokenizer has {vocabulary.Tokens.Count} tokens but the model's embedding only {config.VocabSize} rows");
        }
        return (vocabulary with { AddBos = addBos }).PaddedTo(config.VocabSize);
    }

    /// <summary>Writes the <c>tokenizer.ggml.*</c> keys.</summary>
    public void WriteTo(GgufWriter writer)
    {
        writer.Add("tokenizer.ggml.model", Model);
        if (PreTokenizer is not null)
        {
            writer.Add("tokenizer.ggml.pre", PreTokenizer);
        }
        writer.Add("tokenizer.ggml.tokens", Tokens);
        if (Scores is not null)
        {
            writer.Add("tokenizer.ggml.scores", Scores);
        }
        writer.Add("tokenizer.ggml.token_type", Types);
        if (Merges is not null)
        {
            writer.Add("tokenizer.ggml.merges", Merges);
        }
        if (BosId is { } bos)
        {
            writer.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        }
        if (EosId is { } eos)
        {
            writer.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        }
        if (UnknownId is { } unknown)
        {
            writer.Add("tokenizer.ggml.unknown_token_id", (uint)unknown);
        }
        writer.Add("tokenizer.ggml.add_bos_token", AddBos);
        if (AddSpacePrefix is { } addSpacePrefix)
        {
            writer.Add("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        }
        writer.Add("tokenizer.ggml.add_eos_token", false);
    }

    private GgufVocabulary PaddedTo(int size)
    {
        if (Tokens.Count == size)
        {
            return this;
        }
        // Embedding rows beyond the tokenizer (vocabularies padded for alignment) become unused tokens.
        int missing = size - Tokens.Count;
        return this with
        {
            Tokens = [.. Tokens, .. Enumerable.Range(Tokens.Count, missing).Select(i => $"[PAD{i}]")],
            Scores = Scores is null ? null : [.. Scores, .. Enumerable.Repeat(0f, missing)],
            Types = [.. Types, .. Enumerable.Repeat(Unused, missing)],
        };
    }

    private static GgufVocabulary Placeholder(ModelConfig config)
    {
        // Not a tokenizer: distinct names so llama.cpp's vocabulary loads; such a model is driven by token ids.
        string[] tokens = Enumerable.Range(0, config.VocabSize).Select(i => $"<tok{i}>").ToArray();
        int[] types = tokens.Select((_, i) => i == config.BosTokenId || config.EosTokenIds.Contains(i) ? Control : Normal).ToArray();
        return new GgufVocabulary("llama", null, tokens, new float[tokens.Length], types, null, config.BosTokenId,
            config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null, null);
    }

    private static GgufVocabulary FromLlama2c(string path)
    {
        var tokens = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        using var reader = new BinaryReader(System.IO.File.OpenRead(path));
        reader.ReadInt32(); // max token length
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            scores.Add(reader.ReadSingle());
            string piece = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32()));
            int id = tokens.Count;
            // llama2.c writes SentencePiece pieces with '▁' decoded to ' '; llama.cpp's llama vocabulary wants '▁'.
            tokens.Add(id < 3 ? piece.Trim() : piece.Replace(' ', '▁'));
            types.Add(id switch
            {
                0 => Unknown,
                1 or 2 => Control,
                _ when piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece.EndsWith('>') => Byte,
                _ => Normal,
            });
        }
        return new GgufVocabulary("llama", null, tokens, scores, types, null, 1, 2, 0);
    }

    private static bool IsByteLevel(string path) => System.IO.File.ReadAllText(path).Contains("\"ByteLevel\"", StringComparison.Ordinal);

    private static GgufVocabulary FromSentencePiece(string path, ModelConfig config, string folder)
    {
        (List<string> pieces, List<float> scores, List<int> types, bool addDummyPrefix) = SentencePieceVocabulary.Read(path);
        int? Find(int type) => types.IndexOf(type) is >= 0 and var id ? id : null;
        int? bos = config.BosTokenId ?? (pieces.IndexOf("<s>") is >= 0 and var b ? b : null);
        int? eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : pieces.IndexOf("</s>") is >= 0 and var e ? e : null;
        return new GgufVocabulary("llama", null, pieces, scores, types, null, bos, eos, Find(Unknown), addDummyPrefix);
    }

    private static GgufVocabulary FromTokenizerJson(string path, ModelConfig config)
    {
        using JsonDocument document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        if (!root.TryGetProperty("model", out JsonElement model) || !model.TryGetProperty("type", out JsonElement type) || type.GetString() != "BPE"
            || !root.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal))
        {
            throw new ModelFormatException(path, "only byte-level BPE tokenizer.json vocabularies are exported to GGUF");
        }
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!).ToArray();
        var added = root.TryGetProperty("added_tokens", out JsonElement list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(t => (t.GetProperty("content").GetString()!, t.GetProperty("id").GetInt32())).ToArray()
            : [];
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())).ToArray();
        return FromTokens(vocab, merges, added, config, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    private static GgufVocabulary FromVocabAndMerges(string vocabPath, string[] merges, (string, int)[] added, ModelConfig config, string folder)
    {
        using JsonDocument document = JsonDocument.Parse(System.IO.File.ReadAllBytes(vocabPath));
        var vocab = document.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())).ToArray();
        return FromTokens(vocab, merges, added, config, folder);
    }

    private static GgufVocabulary FromTokens((string Token, int Id)[] vocab, string[] merges, (string Token, int Id)[] added, ModelConfig config, string folder)
    {
        var byId = new SortedDictionary<int, string>();
        foreach ((string token, int id) in vocab.Concat(added))
        {
            byId[id] = token;
        }
        int count = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        var tokens = new string[count];
        for (int i = 0; i < count; i++)
        {
            tokens[i] = byId.TryGetValue(i, out string? token) ? token : $"[PAD{i}]";
        }
        HashSet<int> special = SpecialIds(folder, added);
        int? Find(string token) => byId.FirstOrDefault(p => p.Value == token) is { Value: not null } p ? p.Key : null;
        int? bos = config.BosTokenId ?? Find("<s>") ?? Find("<|begin_of_text|>");
        int? eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : Find("</s>") ?? Find("<|endoftext|>");
        foreach (int? id in new[] { bos, eos })
        {
            if (id is { } known)
            {
                special.Add(known);
            }
        }
        int[] types = Enumerable.Range(0, count).Select(i => !byId.ContainsKey(i) ? Unused : special.Contains(i) ? Control : Normal).ToArray();
        return new GgufVocabulary("gpt2", "gpt-2", tokens, null, types, merges, bos, eos, Find("<unk>"));
    }

    private static string[] ReadMergesFile(string path) =>
        System.IO.File.ReadAllLines(path).Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal)).ToArray();

    private static HashSet<int> SpecialIds(string folder, (string, int Id)[] added)
    {
        var ids = new HashSet<int>(added.Select(a => a.Id));
        string config = Path.Combine(folder, "tokenizer_config.json");
        if (System.IO.File.Exists(config))
        {
            using JsonDocument document = JsonDocument.Parse(System.IO.File.ReadAllBytes(config));
            if (document.RootElement.TryGetProperty("added_tokens_decoder", out JsonElement decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty entry in decoder.EnumerateObject())
                {
                    if (int.TryParse(entry.Name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id)
                        && entry.Value.TryGetProperty("special", out JsonElement special) && special.ValueKind == JsonValueKind.True)
                    {
                        ids.Add(id);
                    }
                }
            }
        }
        return ids;
    }
}
