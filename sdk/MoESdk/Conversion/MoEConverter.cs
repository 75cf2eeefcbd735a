using System.Diagnostics;
using System.Globalization;
using MoESdk.Evaluation;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// Converts a dense model into a Mixture-of-Experts model. The partition methods collect each layer's FFN
/// inputs on calibration text, partition the FFN neurons into experts, fit an analytic router and the
/// experts' output scales (<see cref="ExpertScaleFit"/>), then (PAR router) train experts and routers; ToMoE instead learns expert channel masks and a router and cuts the
/// experts out of the frozen FFN.
/// </summary>
/// <remarks>
/// Method recipes: factor = contiguous partition + PAR-trained router (FixedScale rule); cluster = balanced
/// k-means partition + analytic router; coact = co-activation partition with one shared expert + analytic
/// router; tomoe = learned masks + Gumbel router, top-1. <see cref="ConversionOptions.Router"/> swaps the
/// router of the partition methods (e.g. a training-free factor).
/// </remarks>
public static class MoEConverter
{
    public static ConversionResult Convert(LlamaModel dense, ConversionOptions options, IReadOnlyList<int> calibrationTokens,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate(dense.Config);
        Float32Required.Check(dense, "convert");
        if (dense.Layers.Any(l => l.FeedForward is not DenseFeedForward))
        {
            throw new ArgumentException("The source model is not dense: its feed-forward blocks are already experts.");
        }
        if (calibrationTokens.Count <= options.WindowLength)
        {
            throw new ArgumentException(
                $"The calibration text has {calibrationTokens.Count} tokens; at least {options.WindowLength + 1} are needed (one window of {ConversionOptionException.LibraryName(nameof(ConversionOptions.WindowLength))} = {options.WindowLength}): use a longer text.");
        }
        var clock = Stopwatch.StartNew();
        int[] calibration = calibrationTokens.Take(options.CalibrationTokens).ToArray();
        var recipe = new TrainingRecipe(options.TrainingSteps, options.TrainingBatchSize, options.WindowLength,
            options.Method == MoEMethod.ToMoE ? ToMoETrainer.DefaultLearningRate : PriorApproximateRouterTrainer.DefaultLearningRate, options.Seed);
        ConversionResult result = options.Method == MoEMethod.ToMoE
            ? ConvertByMasks(dense, options, calibration, recipe, progress, cancellationToken)
            : ConvertByPartition(dense, options, calibration, recipe, progress, cancellationToken);
        return result with { CalibrationTokens = calibration.Length, Duration = clock.Elapsed };
    }

    /// <summary>The partitioner of a partition method.</summary>
    internal static INeuronPartitioner Partitioner(ConversionOptions options) => options.Method switch
    {
        MoEMethod.Factor => new ContiguousPartitioner(),
        MoEMethod.Cluster => new BalancedClusterPartitioner(options.Seed),
        MoEMethod.Coact => new CoActivationPartitioner(options.Seed),
        var other => throw new ArgumentException($"Method {ConversionChoice.Name(other)} does not partition neurons; use factor, cluster or coact.", nameof(options)),
    };

    private static ConversionResult ConvertByPartition(LlamaModel dense, ConversionOptions options, int[] calibration, TrainingRecipe recipe,
        IProgress<ConversionProgress>? progress, CancellationToken cancellationToken)
    {
        INeuronPartitioner partitioner = Partitioner(options);
        Tensor[] inputs = CollectInputs(dense, options, calibration, progress, cancellationToken);
        var blocks = new MixtureOfExpertsFeedForward[dense.Layers.Length];
        var scales = new double[blocks.Length][];
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
                // The analytic fit is the whole router of the training-free recipes and PAR's starting point.
                Tensor router = AnalyticRouter.Fit(experts, inputs[layer]);
                blocks[layer] = new MixtureOfExpertsFeedForward(experts, shared, router, options.ExpertsPerToken, ExpertOutputRule.FixedScale);
                router.Dispose();
                scales[layer] = ExpertScaleFit.Fit(blocks[layer], ffn, inputs[layer]);
                progress?.Report(new ConversionProgress("partitioning", layer + 1, blocks.Length));
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
        var recipeParameters = new Dictionary<string, string>();
        recipeParameters["expertScales"] = string.Join(" ", scales.Select(layer => string.Join(",", layer.Select(TrainingRecipe.Format))));
        if (options.TrainsParRouter)
        {
            try
            {
                TrainingOutcome outcome = PriorApproximateRouterTrainer.Train(dense, moe, calibration, recipe, options.Distill, progress, cancellationToken);
                foreach ((string key, string value) in Describe(recipe, outcome))
                {
                    recipeParameters[key] = value;
                }
                recipeParameters["priorWeight"] = TrainingRecipe.Format(PriorApproximateRouterTrainer.PriorWeight);
                recipeParameters["balanceWeight"] = TrainingRecipe.Format(PriorApproximateRouterTrainer.BalanceWeight);
                recipeParameters["routerLearningRate"] = TrainingRecipe.Format(recipe.LearningRate * PriorApproximateRouterTrainer.RouterRateFactor);
            }
            catch
            {
                moe.Dispose();
                throw;
            }
        }
        return new ConversionResult(moe, partitioner.Name, options.RouterName, ExpertOutputRule.FixedScale, options.Describe(recipeParameters), 0, TimeSpan.Zero);
    }

    private static ConversionResult ConvertByMasks(LlamaModel dense, ConversionOptions options, int[] calibration, TrainingRecipe recipe,
        IProgress<ConversionProgress>? progress, CancellationToken cancellationToken)
    {
        (MixtureOfExpertsFeedForward[] blocks, TrainingOutcome outcome) =
            ToMoETrainer.Convert(dense, options.Experts, options.ActiveBudget, calibration, recipe, progress, cancellationToken);
        var moe = new LlamaModel(dense, layer => blocks[layer]);
        Dictionary<string, string> parameters = Describe(recipe, outcome);
        parameters["temperature"] = TrainingRecipe.Format(MaskedExpertsFeedForward.Temperature);
        parameters["klWeight"] = TrainingRecipe.Format(ToMoETrainer.KlWeight);
        parameters["ratioWeight"] = TrainingRecipe.Format(ToMoETrainer.RatioWeight);
        parameters["coverageWeight"] = TrainingRecipe.Format(ToMoETrainer.CoverageWeight);
        parameters["balanceWeight"] = TrainingRecipe.Format(ToMoETrainer.BalanceWeight);
        parameters["expertWidth"] = blocks[0].Experts[0].Width.ToString(CultureInfo.InvariantCulture);
        return new ConversionResult(moe, "masks", options.RouterName, ExpertOutputRule.RouterWeighted, options.Describe(parameters), 0, TimeSpan.Zero);
    }

    private static Dictionary<string, string> Describe(TrainingRecipe recipe, TrainingOutcome outcome) => new()
    {
        ["learningRate"] = TrainingRecipe.Format(recipe.LearningRate),
        ["warmupSteps"] = recipe.WarmupSteps.ToString(CultureInfo.InvariantCulture),
        ["firstLoss"] = TrainingRecipe.Format(outcome.FirstLoss),
        ["lastLoss"] = TrainingRecipe.Format(outcome.LastLoss),
    };

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
