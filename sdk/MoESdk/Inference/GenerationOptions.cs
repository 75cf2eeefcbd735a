namespace MoESdk.Inference;

/// <summary>Limits and sampling of one generation.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate (the prompt not counted).</summary>
    public int MaxTokens { get; init; } = 256;

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Tokens that end the generation; they are not emitted. Usually the model's end-of-sequence ids.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    public void Validate()
    {
        if (MaxTokens < 0)
        {
            throw new ArgumentException($"Max tokens must be 0 or more, was {MaxTokens}.");
        }
        Sampling.Validate();
    }
}
