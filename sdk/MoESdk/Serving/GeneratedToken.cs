namespace MoESdk.Serving;

/// <summary>
/// One generated token: its id, the text it completes and the experts that produced it.
/// </summary>
/// <param name="Id">Token id in the model's vocabulary.</param>
/// <param name="Text">
/// Text this token adds. Empty while the token ends inside a multi-byte character; the token that completes
/// the character carries it. The texts of all tokens concatenated are the generated text.
/// </param>
/// <param name="Experts">
/// Per decoder layer, the routed experts chosen at the position whose output this token was sampled from
/// (the previous token, or the prompt's last one for the first token). Empty for a dense model.
/// </param>
public sealed record GeneratedToken(int Id, string Text, IReadOnlyList<IReadOnlyList<int>> Experts);
