namespace MoESdk.Adaptation;

/// <summary>What a fine-tuning run did.</summary>
/// <param name="TrainedParameters">Parameters that received updates (everything else stayed bit-identical).</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="Losses">Training loss of every step.</param>
/// <param name="Duration">Wall-clock time of the training.</param>
public sealed record FineTuningResult(long TrainedParameters, int Steps, IReadOnlyList<double> Losses, TimeSpan Duration)
{
    /// <summary>Loss of the first step (before any update).</summary>
    public double InitialLoss => Losses[0];

    /// <summary>Mean loss of the last ten steps (or all, when fewer): less noisy than the last step alone.</summary>
    public double FinalLoss => Losses.TakeLast(Math.Min(10, Losses.Count)).Average();
}
