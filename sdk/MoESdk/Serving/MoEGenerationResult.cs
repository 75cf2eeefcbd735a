using MoESdk.Inference;

namespace MoESdk.Serving;

/// <summary>A finished generation.</summary>
/// <param name="Text">The generated text (the prompt not included).</param>
/// <param name="Tokens">Every generated token with its experts.</param>
/// <param name="PromptTokens">Tokens the prompt was encoded into.</param>
/// <param name="FinishReason">Why the generation ended.</param>
/// <param name="ExpertsPerToken">Experts that ran per token (the model's layer count of experts for a dense model: all of it).</param>
public sealed record MoEGenerationResult(string Text, IReadOnlyList<GeneratedToken> Tokens, int PromptTokens, FinishReason FinishReason, int ExpertsPerToken);
