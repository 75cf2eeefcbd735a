namespace MoESdk.Inference;

/// <summary>
/// The sampling and stopping rules of one generation, a token at a time, apart from what feeds the model:
/// <see cref="InferenceSession.Generate"/> runs one on its own thread, a batched decode loop runs one per sequence.
/// </summary>
internal sealed class GenerationCursor
{
    private readonly InferenceSession _session;
    private readonly GenerationOptions _options;
    private readonly TokenSampler _sampler;
    private int _produced;

    public GenerationCursor(InferenceSession session, GenerationOptions options)
    {
        options.Validate();
        _session = session;
        _options = options;
        _sampler = new TokenSampler(options.Sampling);
    }

    /// <summary>Why the generation ended; <see cref="FinishReason.None"/> while it runs.</summary>
    public FinishReason FinishReason { get; private set; }

    /// <summary>
    /// Picks the next token from the session's last logits; false, with <see cref="FinishReason"/> set, when the
    /// generation ends instead (max tokens reached, or a stop token, which is not emitted).
    /// </summary>
    public bool TryNext(out int token)
    {
        if (_produced >= _options.MaxTokens)
        {
            FinishReason = FinishReason.MaxTokens;
            token = -1;
            return false;
        }
        token = _sampler.Sample(_session.Logits);
        if (_options.StopTokens.Contains(token))
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
