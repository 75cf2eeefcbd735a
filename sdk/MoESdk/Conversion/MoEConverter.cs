using System.Diagnostics;
using MoESdk.Evaluation;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// Converts a dense model into a Mixture-of-Experts model: collect each layer's FFN inputs on calibration
/// text, partition the FFN neurons into experts, build a router, and (where the method trains) train it.
/// </summary>
public static class MoEConverter
{
    public static ConversionResult Convert(LlamaModel dense, ConversionOptions options, IReadOnlyList<int> calibrationTokens,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate(dense.Config);
        if (dense.Layers.Any(l => l.FeedForward is not DenseFeedForward))
        {
            throw new ArgumentException("The source model is not dense: its feed-forward blocks are already experts.");
        }
        var clock = Stopwatch.StartNew();
        INeuronPartitioner partitioner = options.Method switch
        {
            "factor" => new ContiguousPartitioner(),
            var other => throw new NotSupportedException($"Method '{other}' is not available in this build; use factor."),
        };

        Tensor[] inputs = CollectInputs(dense, options, calibrationTokens, progress, cancellationToken);
        var blocks = new MixtureOfExpertsFeedForward[dense.Layers.Length];
        try
        {
            for (int layer = 0; layer < blocks.Length; layer++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var ffn = (DenseFeedForward)dense.Layers[layer].FeedForward;
                NeuronPartition partition = partitioner.Partition(ffn, inputs[layer], options.Experts, options.SharedExpertCount);
                partition.Validate((int)ffn.Gate.OutFeatures);
                Expert[] experts = partition.Experts.Select(n => ExpertSlicer.Slice(ffn, n)).ToArray();
                Expert[] shared = partition.Shared.Select(n => ExpertSlicer.Slice(ffn, n)).ToArray();
                Tensor router = AnalyticRouter.Fit(experts, inputs[layer]);
                blocks[layer] = new MixtureOfExpertsFeedForward(experts, shared, router, options.TopK, ExpertOutputRule.FixedScale);
                progress?.Report(new ConversionProgress("routing", layer + 1, blocks.Length));
            }
        }
        finally
        {
            foreach (Tensor t in inputs)
            {
                t.Dispose();
            }
        }
        var moe = new LlamaModel(dense, layer => blocks[layer]);
        long calibrationUsed = Math.Min(calibrationTokens.Count, options.CalibrationTokens);
        return new ConversionResult(moe, partitioner.Name, "analytic", ExpertOutputRule.FixedScale, options.Describe(steps: 0), calibrationUsed, clock.Elapsed);
    }

    /// <summary>Each layer's FFN inputs [tokens, hidden] on the calibration windows.</summary>
    public static Tensor[] CollectInputs(LlamaModel dense, ConversionOptions options, IReadOnlyList<int> calibrationTokens,
        IProgress<ConversionProgress>? progress, CancellationToken cancellationToken)
    {
        var windows = new TokenWindows(calibrationTokens, options.WindowLength, Math.Max(1, options.CalibrationTokens / options.WindowLength));
        var recorders = dense.Layers.Select(l => new FeedForwardRecorder(l.FeedForward, options.CalibrationTokens)).ToArray();
        using var recording = new LlamaModel(dense, layer => recorders[layer]);
        using (inference_mode())
        {
            for (int w = 0; w < windows.Count; w++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                (long[] input, _) = windows.Batch(w, 1);
                recording.forward(tensor(input, [1, windows.Length]));
                progress?.Report(new ConversionProgress("calibrating", w + 1, windows.Count));
            }
        }
        Tensor[] inputs = recorders.Select(r => r.Inputs().DetachFromDisposeScope()).ToArray();
        foreach (FeedForwardRecorder recorder in recorders)
        {
            recorder.Dispose();
        }
        return inputs;
    }
}
