namespace MoESdk.Tokenization;

/// <summary>A token from tokenizer.json's "added_tokens": matched whole in text before any other processing.</summary>
internal sealed record AddedToken(string Content, int Id, bool Special, bool LeftStrip, bool RightStrip);

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (with its <c>tokenizer_config.json</c>) run as the transformers tokenizers
/// run it: added tokens are cut out of the text first; each piece between them is normalized, split into words and
/// encoded by BPE; the sequence's special tokens go around the result. Decoding maps ids to tokens, leaves special
/// tokens out and runs the decoder.
/// </summary>
internal sealed class HuggingFaceTextTokenizer : ITextTokenizer
{
    private const string Metaspace = "▁";

    private readonly AddedTokenSplitter _allAdded;
    private readonly AddedTokenSplitter _nonSpecialAdded;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, int> _ids;
    private readonly string?[] _tokens;
    private readonly HashSet<int> _specialIds;
    private readonly TextNormalizer? _normalizer;
    private readonly WordSplitter? _splitter;
    private readonly BpeModel _model;
    private readonly TokenDecoder? _decoder;
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly bool _sentencePieceSpaces;

    internal HuggingFaceTextTokenizer(HuggingFaceTokenizerParts parts)
    {
        _ids = parts.Ids;
        _allAdded = new AddedTokenSplitter(parts.AddedTokens.Select(t => KeyValuePair.Create(t.Content, t.Id)));
        _nonSpecialAdded = new AddedTokenSplitter(parts.AddedTokens.Where(t => !t.Special).Select(t => KeyValuePair.Create(t.Content, t.Id)));
        _addedById = parts.AddedTokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.Last());
        _specialIds = parts.SpecialIds;
        _normalizer = parts.Normalizer;
        _splitter = parts.Splitter;
        _model = parts.Model;
        _decoder = parts.Decoder;
        _prefix = parts.Prefix;
        _suffix = parts.Suffix;
        _sentencePieceSpaces = parts.SentencePieceSpaces;
        BosId = parts.BosId;
        EosIds = parts.EosIds;
        VocabSize = _ids.Count == 0 ? 0 : _ids.Values.Max() + 1;
        _tokens = new string?[VocabSize];
        foreach (var (token, id) in _ids)
        {
            _tokens[id] = token;
        }
    }

    public int VocabSize { get; }

    public int? BosId { get; }

    public IReadOnlyList<int> EosIds { get; }

    /// <summary>Special tokens in the text are matched; BOS, when asked for, is the model's BOS token alone.</summary>
    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>();
        if (addBos && BosId is { } bos)
        {
            ids.Add(bos);
        }
        EncodeText(text, parseSpecialTokens: true, ids);
        return ids;
    }

    /// <summary>
    /// With <paramref name="addSpecialTokens"/>, adds BOS and EOS as tokenizer_config.json's <c>add_bos_token</c> and
    /// <c>add_eos_token</c> say, or where it does not say, as tokenizer.json's post-processor template does. Without
    /// <paramref name="parseSpecialTokens"/>, special tokens written in the text are encoded as text; added tokens
    /// that are not special (Gemma's runs of newlines, Qwen's <c>&lt;think&gt;</c>) are still matched, as the Hugging
    /// Face library does when it splits special tokens.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens)
    {
        var ids = new List<int>();
        if (addSpecialTokens)
        {
            ids.AddRange(_prefix);
        }
        EncodeText(text, parseSpecialTokens, ids);
        if (addSpecialTokens)
        {
            ids.AddRange(_suffix);
        }
        return ids;
    }

    public int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>The token string of an id as the vocabulary writes it (byte-level or '▁' form), or null when the id has none.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>Decodes text only: special tokens are left out, and so are ids that are not tokens.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (!_specialIds.Contains(id) && IdToToken(id) is { } token)
            {
                tokens.Add(token);
            }
        }
        if (_decoder is null)
        {
            return string.Join(' ', tokens);
        }
        return string.Concat(_decoder.Decode(tokens));
    }

    private void EncodeText(string text, bool parseSpecialTokens, List<int> ids)
    {
        if (!_sentencePieceSpaces || text.Length == 0)
        {
            EncodeSections(text, parseSpecialTokens, ids);
            return;
        }
        // LLaMA's tokenizer outside its legacy mode: one '▁' goes in front of the text (and '▁' in the text is read
        // as a space), and that lone '▁' is dropped again when a special token follows it.
        var encoded = new List<int>();
        EncodeSections(Metaspace + text.Replace(Metaspace, " ", StringComparison.Ordinal), parseSpecialTokens, encoded);
        if (encoded.Count > 1 && _ids.TryGetValue(Metaspace, out var space) && encoded[0] == space && _specialIds.Contains(encoded[1]))
        {
            encoded.RemoveAt(0);
        }
        ids.AddRange(encoded);
    }

    private void EncodeSections(string text, bool parseSpecialTokens, List<int> ids)
    {
        var sections = (parseSpecialTokens ? _allAdded : _nonSpecialAdded).Split(text);
        StripAroundAddedTokens(sections);
        var words = new List<string>();
        for (var section = 0; section < sections.Count; section++)
        {
            var (piece, id) = sections[section];
            if (id is { } added)
            {
                ids.Add(added);
                continue;
            }
            if (piece.Length == 0)
            {
                continue;
            }
            var normalized = _normalizer?.Normalize(piece) ?? piece;
            if (normalized.Length == 0)
            {
                continue;
            }
            words.Clear();
            if (_splitter is null)
            {
                words.Add(normalized);
            }
            else
            {
                _splitter.Split(normalized, section, words);
            }
            foreach (var word in words)
            {
                _model.Encode(word, ids);
            }
        }
    }

    /// <summary>Added tokens with lstrip or rstrip take the whitespace beside them.</summary>
    private void StripAroundAddedTokens(List<(string Text, int? Id)> sections)
    {
        for (var i = 0; i < sections.Count; i++)
        {
            if (sections[i].Id is not { } id || !_addedById.TryGetValue(id, out var token))
            {
                continue;
            }
            if (token.LeftStrip && i > 0 && sections[i - 1].Id is null)
            {
                sections[i - 1] = (sections[i - 1].Text.TrimEnd(), null);
            }
            if (token.RightStrip && i + 1 < sections.Count && sections[i + 1].Id is null)
            {
                sections[i + 1] = (sections[i + 1].Text.TrimStart(), null);
            }
        }
    }
}

/// <summary>The pieces a tokenizer.json and its config describe, read by <see cref="HuggingFaceTokenizerJson"/>.</summary>
internal sealed record HuggingFaceTokenizerParts(
    Dictionary<string, int> Ids,
    IReadOnlyList<AddedToken> AddedTokens,
    HashSet<int> SpecialIds,
    TextNormalizer? Normalizer,
    WordSplitter? Splitter,
    BpeModel Model,
    TokenDecoder? Decoder,
    int[] Prefix,
    int[] Suffix,
    bool SentencePieceSpaces,
    int? BosId,
    IReadOnlyList<int> EosIds);
