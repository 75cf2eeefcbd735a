using System.Globalization;
using MoESdk.Training;

namespace MoESdk.Conversion;

/// <summary>How long and how fast a conversion trains: shared by the PAR router and ToMoE mask training.</summary>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="BatchSize">Sequences per step.</param>
/// <param name="SequenceLength">Tokens per sequence.</param>
/// <param name="LearningRate">Peak AdamW learning rate (warm-up, then cosine decay).</param>
/// <param name="Seed">Seed of the batches and of any noise.</param>
internal sealed record TrainingRecipe(int Steps, int BatchSize, int SequenceLength, double LearningRate, int Seed)
{
    /// <summary>Steps of linear warm-up: a tenth of the run, at most 20.</summary>
    public int WarmupSteps => Math.Clamp(Steps / 10, 1, 20);

    /// <summary>The training loop's settings for this recipe (gradients clipped to norm 1).</summary>
    public TrainingLoopOptions Loop => new(Steps, LearningRate, WarmupSteps, Seed);

    internal static string Format(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}

/// <summary>One training run's first and last losses (each the mean over a tenth of the run).</summary>
internal sealed record TrainingOutcome(double FirstLoss, double LastLoss);
