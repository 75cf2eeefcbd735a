namespace MoESdk.Tokenization;

/// <summary>Turns text into a model's token ids and back.</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, prepended to prompts when the model expects one.</summary>
    int? BosId { get; }

    /// <summary>Ids that end a generation.</summary>
    IReadOnlyList<int> EosIds { get; }

    IReadOnlyList<int> Encode(string text, bool addBos);

    string Decode(IEnumerable<int> ids);
}
