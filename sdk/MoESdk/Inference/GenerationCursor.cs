namespace MoESdk.Inference;

/// <summary>
/// The sampling and stopping rules of one generation, a token at a time, apart from what feeds the model:
/// <see cref="InferenceSession.Generate"/> runs one on its own thread, a batched decode loop runs one per sequence.
/// </summary>
internal sealed class GenerationCursor
{
    private readonly InferenceSession _session;
    private readonly int _maxTokens;
    private readonly IReadOnlyList<int> _stopTokens;
    private readonly TokenSampler _sampler;
    private int _produced;

    /// <param name="session">The session whose logits are sampled.</param>
    /// <param name="maxTokens">Most tokens to produce, 0 or more.</param>
    /// <param name="sampling">How each token is chosen.</param>
    /// <param name="stopTokens">Ids that end the generation; they are not emitted.</param>
    /// <remarks>Callers have validated the options, each with the name its user knows (InferenceSession's
    /// GenerationOptions, serving's MoEGenerationOptions).</remarks>
    public GenerationCursor(InferenceSession session, int maxTokens, SamplingOptions sampling, IReadOnlyList<int> stopTokens)
    {
        _session = session;
        _maxTokens = maxTokens;
        _stopTokens = stopTokens;
        _sampler = new TokenSampler(sampling);
    }

    /// <summary>Why the generation ended; <see cref="FinishReason.None"/> while it runs.</summary>
    public FinishReason FinishReason { get; private set; }

    /// <summary>
    /// Picks the next token from the session's last logits; false, with <see cref="FinishReason"/> set, when the
    /// generation ends instead (max tokens reached, or a stop token, which is not emitted).
    /// </summary>
    public bool TryNext(out int token)
    {
        if (_produced >= _maxTokens)
        {
            FinishReason = FinishReason.MaxTokens;
            token = -1;
            return false;
        }
        token = _sampler.Sample(_session.Logits);
        if (_stopTokens.Contains(token))
        {
            FinishReason = FinishReason.Stop;
            return false;
        }
        _produced++;
        return true;
    }

    /// <summary>Whether the token just picked can be fed back; false, with <see cref="FinishReason.ContextFull"/>, when the context is full.</summary>
    public bool HasRoom()
    {
        if (_session.Position >= _session.ContextLength)
        {
            FinishReason = FinishReason.ContextFull;
            return false;
        }
        return true;
    }
}
