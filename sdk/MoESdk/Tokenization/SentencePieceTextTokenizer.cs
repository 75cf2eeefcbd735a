using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// A SentencePiece model (<c>tokenizer.model</c>, as LLaMA 1/2 and Mistral ship) on Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>. Normalization, the dummy-prefix space and byte fallback follow the model's
/// own settings.
/// </summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer _model;

    private SentencePieceTextTokenizer(SentencePieceTokenizer model)
    {
        _model = model;
        EosIds = [model.EndOfSentenceId];
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

    internal static SentencePieceTextTokenizer Load(Stream stream, string path)
    {
        try
        {
            return new SentencePieceTextTokenizer(SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException or NotSupportedException or IndexOutOfRangeException)
        {
            throw new ModelFormatException(path, $"not a SentencePiece model that can be loaded: {e.Message}", e);
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addBos) =>
        _model.EncodeToIds(text, addBeginningOfSentence: addBos, addEndOfSentence: false);

    /// <summary>Decodes text only: control tokens (BOS, EOS) are left out, and so is the dummy-prefix space.</summary>
    public string Decode(IEnumerable<int> ids) => _model.Decode(ids, considerSpecialTokens: false);
}
