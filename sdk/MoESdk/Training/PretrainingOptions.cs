namespace MoESdk.Training;

/// <summary>Hyper-parameters of a pretraining run. Defaults suit a few-million-parameter model on a CPU.</summary>
internal sealed record PretrainingOptions
{
    public int Steps { get; init; } = 2000;

    public int BatchSize { get; init; } = 16;

    public int SequenceLength { get; init; } = 128;

    public double LearningRate { get; init; } = 3e-3;

    public int WarmupSteps { get; init; } = 100;

    public double WeightDecay { get; init; } = 0.1;

    public double GradientClip { get; init; } = 1.0;

    /// <summary>Held-out evaluation every this many steps (and at the end).</summary>
    public int EvaluationInterval { get; init; } = 200;

    /// <summary>Windows of the held-out text scored at each evaluation.</summary>
    public int EvaluationWindows { get; init; } = 64;

    /// <summary>A resumable checkpoint every this many steps.</summary>
    public int CheckpointInterval { get; init; } = 500;

    public int Seed { get; init; } = 1234;

    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }
        Require(Steps > 0, $"Steps must be positive, was {Steps}.");
        Require(BatchSize > 0, $"Batch size must be positive, was {BatchSize}.");
        Require(SequenceLength > 1, $"Sequence length must be at least 2, was {SequenceLength}.");
        Require(LearningRate > 0, $"Learning rate must be positive, was {LearningRate}.");
        Require(WarmupSteps >= 0 && WarmupSteps < Steps, $"Warm-up steps must be in 0..{Steps - 1}, was {WarmupSteps}.");
        Require(WeightDecay >= 0, $"Weight decay must be 0 or more, was {WeightDecay}.");
        Require(GradientClip > 0, $"Gradient clip must be positive, was {GradientClip}.");
        Require(EvaluationInterval > 0 && CheckpointInterval > 0, "Evaluation and checkpoint intervals must be positive.");
    }
}

/// <summary>Where a pretraining run stands, reported after every step.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Training loss of the last step.</param>
/// <param name="LearningRate">Rate used for the last step.</param>
/// <param name="ValidationLoss">Held-out loss of the last evaluation, if any yet.</param>
/// <param name="TokensPerSecond">Training throughput of this run so far.</param>
internal sealed record PretrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double? ValidationLoss, double TokensPerSecond);
