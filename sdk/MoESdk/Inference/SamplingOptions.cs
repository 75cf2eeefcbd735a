namespace MoESdk.Inference;

/// <summary>How the next token is chosen from the logits.</summary>
public sealed record SamplingOptions
{
    /// <summary>0 picks the most likely token (greedy); higher values flatten the distribution.</summary>
    public float Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of tokens whose probability reaches p; 1 keeps all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seed of the sampler: the same seed, prompt and model give the same text; null draws a new seed per generation.</summary>
    public int? Seed { get; init; }

    public static SamplingOptions Greedy { get; } = new();

    public bool IsGreedy => Temperature <= 0f;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Temperature < 0f || float.IsNaN(Temperature))
        {
            throw new ArgumentException($"Temperature must be 0 (greedy) or positive, was {Temperature}.");
        }
        if (TopK < 0)
        {
            throw new ArgumentException($"Top-k must be 0 (off) or positive, was {TopK}.");
        }
        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"Top-p must be in (0, 1], was {TopP}.");
        }
    }
}
