namespace MoESdk.Adaptation;

/// <summary>
/// Hyper-parameters of a short fine-tuning run on a small corpus: AdamW, linear warm-up then cosine decay,
/// gradient clipping, next-token cross-entropy on seeded random windows of the corpus.
/// </summary>
public record FineTuningOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Peak AdamW learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Seeds the order of the training windows.</summary>
    public int Seed { get; init; }

    /// <summary>Windows per step.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Tokens per window.</summary>
    public int SequenceLength { get; init; } = 128;

    /// <summary>Decoupled weight decay of the trained matrices. Zero by default: a small corpus should move the weights, not shrink them.</summary>
    public double WeightDecay { get; init; }

    public double GradientClip { get; init; } = 1.0;

    /// <summary>Warm-up steps of the learning rate: a tenth of the run, at most 20.</summary>
    public int WarmupSteps => Math.Min(20, Steps / 10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public virtual void Validate()
    {
        Require(Steps > 0, $"Steps must be positive, was {Steps}.");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"The learning rate must be a positive number, was {LearningRate}.");
        Require(BatchSize > 0, $"The batch size must be positive, was {BatchSize}.");
        Require(SequenceLength > 1, $"The sequence length must be at least 2, was {SequenceLength}.");
        Require(WeightDecay >= 0, $"Weight decay must be 0 or more, was {WeightDecay}.");
        Require(GradientClip > 0, $"The gradient clip must be positive, was {GradientClip}.");
    }

    protected static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
