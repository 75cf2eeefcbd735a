using System.Diagnostics;
using MoESdk.Modules;
using MoESdk.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Adaptation;

/// <summary>
/// Trains a chosen set of a model's parameters on a token stream and nothing else: every other parameter has
/// its gradient switched off for the run (and restored after), so it stays bit-identical.
/// </summary>
internal static class FineTuningLoop
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
        var trainedSet = new HashSet<Parameter>(trained, ReferenceEqualityComparer.Instance);
        Parameter[] all = model.parameters().ToArray();
        bool[] wasTrainable = all.Select(p => p.requires_grad).ToArray();
        foreach (Parameter p in all)
        {
            p.requires_grad = trainedSet.Contains(p);
        }
        var batches = new TrainingBatches(tokens, options.BatchSize, options.SequenceLength);
        var schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);
        var losses = new List<double>(options.Steps);
        try
        {
            using var optimizer = optim.AdamW(trained, lr: options.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: options.WeightDecay);
            for (int step = 0; step < options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (ParamGroup group in optimizer.ParamGroups)
                {
                    group.LearningRate = schedule.At(step);
                }
                using var scope = NewDisposeScope();
                (Tensor inputs, Tensor targets) = batches.At(options.Seed, step);
                optimizer.zero_grad();
                Tensor logits = model.forward(inputs);
                Tensor loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1));
                loss.backward();
                nn.utils.clip_grad_norm_(trained, options.GradientClip);
                optimizer.step();
                losses.Add(loss.item<float>());
                progress?.Report(new AdaptationProgress("training", step + 1, options.Steps, losses[^1]));
            }
        }
        finally
        {
            for (int i = 0; i < all.Length; i++)
            {
                all[i].grad = null;
                all[i].requires_grad = wasTrainable[i];
            }
            // The weights changed in place (even when cancelled part-way): bfloat16 and int8 decode copies are stale.
            model.ForgetDecodeWeights();
        }
        return new FineTuningResult(trained.Sum(p => p.numel()), options.Steps, losses, clock.Elapsed);
    }
}
