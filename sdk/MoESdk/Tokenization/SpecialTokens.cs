namespace MoESdk.Tokenization;

/// <summary>Tokens matched whole in the input and dropped from decoded text, and which of them start and end a sequence.</summary>
internal sealed record SpecialTokens(IReadOnlyDictionary<string, int> Ids, int? BosId, IReadOnlyList<int> EosIds);
