using System.Text.Json;
using Microsoft.ML.Tokenizers;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// Byte-level BPE (GPT-2, Qwen2, LLaMA-3 style) on Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>: text is
/// split by a regular expression, each piece becomes UTF-8 bytes, and merges join them, so any text round-trips.
/// </summary>
internal sealed class ByteLevelBpeTextTokenizer : ITextTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly int[] _eosIds;
    private readonly AddedTokenSplitter _specials;
    private readonly HashSet<int> _specialIds;

    private ByteLevelBpeTextTokenizer(BpeTokenizer bpe, int vocabSize, SpecialTokens specials)
    {
        _bpe = bpe;
        _specials = new AddedTokenSplitter(specials.Ids);
        _specialIds = [.. specials.Ids.Values];
        VocabSize = vocabSize;
        BosId = specials.BosId;
        _eosIds = [.. specials.EosIds];
    }

    public int VocabSize { get; }

    public int? BosId { get; }

    public IReadOnlyList<int> EosIds => _eosIds;

    /// <summary>
    /// Loads Hugging Face <c>vocab.json</c> and <c>merges.txt</c>; special tokens, BOS and EOS come from
    /// tokenizer_config.json, special_tokens_map.json and generation_config.json beside them when present.
    /// </summary>
    public static ByteLevelBpeTextTokenizer Load(string vocabPath, string mergesPath)
    {
        var vocabulary = ReadVocabulary(vocabPath);
        var merges = ReadMerges(mergesPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(vocabPath))!;
        var specials = SpecialTokenFiles.Read(directory, vocabulary, []);
        return Create(vocabulary, merges, specials, pattern: null, vocabPath);
    }

    internal static ByteLevelBpeTextTokenizer Create(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<string> merges, SpecialTokens specials, string? pattern, string path)
    {
        // The library looks special tokens up in the vocabulary too; LLaMA-3 keeps them only in added_tokens.
        var fullVocabulary = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        foreach (var (token, id) in specials.Ids)
        {
            fullVocabulary.TryAdd(token, id);
        }
        try
        {
            var bpe = BpeTokenizer.Create(new BpeOptions(fullVocabulary)
            {
                Merges = merges,
                // Special tokens are cut out of the text here, before the library sees it, so that they can be
                // matched or not as the caller asks.
                PreTokenizer = ByteLevelPreTokenizer.Create(pattern),
                ByteLevel = true,
            });
            var vocabSize = fullVocabulary.Count == 0 ? 0 : fullVocabulary.Values.Max() + 1;
            return new ByteLevelBpeTextTokenizer(bpe, vocabSize, specials);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException(path, $"the byte-level BPE vocabulary or merges are inconsistent: {e.Message}", e);
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addBos) => Encode(text, addBos, parseSpecialTokens: true);

    /// <summary>Adds BOS for <paramref name="addSpecialTokens"/> when the model has one.</summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens)
    {
        var ids = new List<int>();
        if (addSpecialTokens && BosId is { } bos)
        {
            ids.Add(bos);
        }
        if (!parseSpecialTokens)
        {
            ids.AddRange(_bpe.EncodeToIds(text));
            return ids;
        }
        foreach (var (piece, id) in _specials.Split(text))
        {
            if (id is { } special)
            {
                ids.Add(special);
            }
            else
            {
                ids.AddRange(_bpe.EncodeToIds(piece));
            }
        }
        return ids;
    }

    public int? TokenToId(string token) => _bpe.Vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>Decodes text only: special tokens (BOS, EOS, chat markers) are left out.</summary>
    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids.Where(id => !_specialIds.Contains(id)));

    internal static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Dictionary<string, int>>(stream) ?? throw new JsonException("the vocabulary is null");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"not a JSON object of token → id: {e.Message}", e);
        }
    }

    internal static List<string> ReadMerges(string path)
    {
        var merges = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            // The first line of Hugging Face merges files is a "#version: 0.2" header.
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            if (line.Split(' ').Length != 2)
            {
                throw new ModelFormatException(path, $"line {lineNumber} is not two tokens separated by one space");
            }
            merges.Add(line);
        }
        return merges;
    }
}
