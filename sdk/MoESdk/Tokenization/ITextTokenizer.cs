namespace MoESdk.Tokenization;

/// <summary>Turns text into a model's token ids and back.</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, prepended to prompts when the model expects one.</summary>
    int? BosId { get; }

    /// <summary>Ids that end a generation.</summary>
    IReadOnlyList<int> EosIds { get; }

    /// <summary>Encodes text, with special-token strings written in it matched as their ids, and BOS in front when <paramref name="addBos"/> and the model has one.</summary>
    IReadOnlyList<int> Encode(string text, bool addBos);

    /// <summary>Encodes text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Add the tokens the tokenizer's configuration puts around a sequence (BOS, and EOS where it says so).</param>
    /// <param name="parseSpecialTokens">
    /// Whether special and added token strings written in the text (<c>&lt;|im_end|&gt;</c>, <c>&lt;s&gt;</c>) become
    /// their ids, as Hugging Face does, or are encoded as ordinary text, as untrusted message content must be so that
    /// it cannot end a turn.
    /// </param>
    IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens);

    /// <summary>The id of a vocabulary or added token, written as the vocabulary writes it, or null when there is none.</summary>
    int? TokenToId(string token);

    string Decode(IEnumerable<int> ids);
}
