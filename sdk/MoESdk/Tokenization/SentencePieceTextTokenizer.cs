using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// A SentencePiece model (<c>tokenizer.model</c>, as LLaMA 1/2 and Mistral ship) on Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>. Normalization, the dummy-prefix space and byte fallback follow the model's
/// own settings.
/// </summary>
internal sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer _model;
    private readonly AddedTokenSplitter _specials;

    private SentencePieceTextTokenizer(SentencePieceTokenizer model, IEnumerable<KeyValuePair<string, int>> specials)
    {
        _model = model;
        EosIds = [model.EndOfSentenceId];
        _specials = new AddedTokenSplitter(specials);
    }

    public int VocabSize => _model.Vocabulary.Count;

    public int? BosId => _model.BeginningOfSentenceId;

    public IReadOnlyList<int> EosIds { get; }

    /// <summary>Loads a serialized SentencePiece ModelProto.</summary>
    public static SentencePieceTextTokenizer Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <param name="stream">The serialized ModelProto.</param>
    /// <param name="path">The file it came from, for errors.</param>
    /// <param name="specials">Tokens matched whole in text; by default the model's BOS, EOS and unknown tokens.</param>
    internal static SentencePieceTextTokenizer Load(Stream stream, string path, IEnumerable<KeyValuePair<string, int>>? specials = null)
    {
        try
        {
            var model = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
            specials ??= [
                KeyValuePair.Create(model.BeginningOfSentenceToken, model.BeginningOfSentenceId),
                KeyValuePair.Create(model.EndOfSentenceToken, model.EndOfSentenceId),
                KeyValuePair.Create(model.UnknownToken, model.UnknownId),
            ];
            return new SentencePieceTextTokenizer(model, specials);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or NotSupportedException or IndexOutOfRangeException)
        {
            throw new ModelFormatException(path, $"not a SentencePiece model that can be loaded: {e.Message}", e);
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addBos) => Encode(text, addBos, parseSpecialTokens: true);

    /// <summary>
    /// Adds BOS for <paramref name="addSpecialTokens"/>. Special tokens written in the text are cut out first, and
    /// each piece between them is encoded on its own, with its own dummy-prefix space.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens)
    {
        if (!parseSpecialTokens)
        {
            return _model.EncodeToIds(text, addBeginningOfSentence: addSpecialTokens, addEndOfSentence: false);
        }
        var ids = new List<int>();
        if (addSpecialTokens)
        {
            ids.Add(_model.BeginningOfSentenceId);
        }
        foreach (var (piece, id) in _specials.Split(text))
        {
            if (id is { } special)
            {
                ids.Add(special);
            }
            else
            {
                ids.AddRange(_model.EncodeToIds(piece, addBeginningOfSentence: false, addEndOfSentence: false));
            }
        }
        return ids;
    }

    public int? TokenToId(string token) => _model.Vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>Decodes text only: control tokens (BOS, EOS) are left out, and so is the dummy-prefix space.</summary>
    public string Decode(IEnumerable<int> ids) => _model.Decode(ids, considerSpecialTokens: false);
}
