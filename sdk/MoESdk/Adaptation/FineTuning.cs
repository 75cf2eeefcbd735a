using System.Diagnostics;
using MoESdk.Modules;
using MoESdk.Training;
using TorchSharp.Modules;

namespace MoESdk.Adaptation;

/// <summary>
/// Trains a chosen set of a model's parameters on a token stream by next-token cross-entropy and nothing else:
/// every other parameter is frozen for the run, so it stays bit-identical.
/// </summary>
internal static class FineTuning
{
    /// <summary>Throws unless the corpus holds at least one training window.</summary>
    public static void RequireOneWindow(int[] tokens, FineTuningOptions options, string corpus)
    {
        if (tokens.Length < options.SequenceLength + 2)
        {
            throw new ArgumentException($"The domain text '{corpus}' has {tokens.Length} tokens: fewer than one training window of {options.SequenceLength + 1}; give more text or a shorter sequence length.");
        }
    }

    public static FineTuningResult Run(LlamaModel model, IReadOnlyList<Parameter> trained, int[] tokens, FineTuningOptions options,
        IProgress<AdaptationProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var batches = new TrainingBatches(tokens, options.BatchSize, options.SequenceLength);
        var settings = new TrainingLoopOptions(options.Steps, options.LearningRate, options.WarmupSteps, options.Seed) { GradientClip = options.GradientClip };
        IReadOnlyList<double> losses;
        try
        {
            var group = new ParameterGroup(options.WeightDecay);
            using var loop = new TrainingLoop(model, trained, settings, _ => group);
            losses = loop.Run(batches, (inputs, targets) => LanguageModelLoss.NextToken(model.forward(inputs), targets),
                step => progress?.Report(new AdaptationProgress("training", step.Step, step.Steps, step.Loss)), cancellationToken);
        }
        finally
        {
            // The weights changed in place (even when cancelled part-way): bfloat16 and int8 decode copies are stale.
            model.ForgetDecodeWeights();
        }
        return new FineTuningResult(trained.Sum(p => p.numel()), options.Steps, losses, clock.Elapsed);
    }
}
