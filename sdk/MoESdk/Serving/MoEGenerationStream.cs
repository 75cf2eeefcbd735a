using MoESdk.Inference;

namespace MoESdk.Serving;

/// <summary>
/// The tokens of a generation as they come, and, once enumerated to the end, how it ended. Enumerate it once.
/// </summary>
public sealed class MoEGenerationStream : IAsyncEnumerable<GeneratedToken>
{
    private readonly Func<MoEGenerationStream, CancellationToken, IAsyncEnumerable<GeneratedToken>> _run;

    internal MoEGenerationStream(Func<MoEGenerationStream, CancellationToken, IAsyncEnumerable<GeneratedToken>> run) => _run = run;

    /// <summary>Why the generation ended; <see cref="FinishReason.None"/> until the last token was read.</summary>
    public FinishReason FinishReason { get; internal set; }

    /// <summary>Tokens the prompt was encoded into; known once the first token was read.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Experts that run per token for this request (0 for a dense model).</summary>
    public int ExpertsPerToken { get; internal set; }

    public IAsyncEnumerator<GeneratedToken> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        _run(this, cancellationToken).GetAsyncEnumerator(cancellationToken);
}
