using System.Globalization;
using MoESdk.Modules;
using MoESdk.Training;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// ToMoE: with the dense weights frozen, learn per-layer expert channel masks and a top-1 router
/// (<see cref="MaskedExpertsFeedForward"/>) under
/// 2·KL(p_dense ‖ p_moe) + λ·log(max(R, p) / min(R, p)) + α·log(1 / coverage) + β·balance,
/// λ = 16, α = 3, β = 1, R the active share of FFN parameters and p the budget. Export gives every expert
/// the same width, the budget's share of the FFN rounded to a multiple of 8, filled with the channels its
/// mask scores highest, and cuts them out of the dense FFN.
/// </summary>
internal static class ToMoETrainer
{
    public const double KlWeight = 2;
    public const double RatioWeight = 16;
    public const double CoverageWeight = 3;
    public const double BalanceWeight = 1;
    public const double DefaultLearningRate = 2e-2;

    /// <summary>Trains masks and routers on <paramref name="tokens"/>, then exports one Mixture-of-Experts block per layer.</summary>
    /// <param name="dense">The dense model (left unchanged).</param>
    /// <param name="experts">Experts per layer.</param>
    /// <param name="budget">Target share p of FFN parameters a token uses, in (0, 1].</param>
    /// <param name="tokens">Training text (the calibration text).</param>
    /// <param name="recipe">Steps, batch, learning rate, seed.</param>
    /// <param name="progress">Receives (training, step, steps, loss).</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    public static (MixtureOfExpertsFeedForward[] Blocks, TrainingOutcome Outcome) Convert(LlamaModel dense, int experts, double budget,
        IReadOnlyList<int> tokens, TrainingRecipe recipe, IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (double.IsNaN(budget) || budget <= 0 || budget > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), $"The budget must be in (0, 1], was {budget.ToString(CultureInfo.InvariantCulture)}.");
        }
        var noise = new Generator((ulong)recipe.Seed);
        var layers = dense.Layers.Select(l => new MaskedExpertsFeedForward((DenseFeedForward)l.FeedForward, experts, noise)).ToArray();
        using var masked = new LlamaModel(dense, i => layers[i]);
        var trainable = layers.SelectMany(l => l.Learned).ToList();
        var batches = new TrainingBatches(tokens as int[] ?? [.. tokens], recipe.BatchSize, recipe.SequenceLength);
        float kl = 0, active = 0;

        StepLoss loss = (inputs, _) =>
        {
            Tensor klLoss = LanguageModelLoss.Distillation(dense, inputs, masked.forward(inputs));
            MaskStatistics[] stats = layers.Select(l => l.Statistics!).ToArray();
            Tensor activeShare = stack(stats.Select(s => s.ActiveShare).ToArray()).mean();
            Tensor coverage = stack(stats.Select(s => s.Coverage).ToArray()).mean();
            Tensor balance = stack(stats.Select(s => s.Balance).ToArray()).mean();
            // log(max(R, p) / min(R, p)) = |log R − log p|.
            Tensor ratio = (activeShare.clamp_min(1e-6).log() - Math.Log(budget)).abs();
            (kl, active) = (klLoss.item<float>(), activeShare.item<float>());
            return KlWeight * klLoss + RatioWeight * ratio - CoverageWeight * coverage.log() + BalanceWeight * balance;
        };

        void AfterStep(TrainingStep step)
        {
            foreach (MaskedExpertsFeedForward layer in layers)
            {
                layer.ClearStatistics();
            }
            progress?.Report(new ConversionProgress("training", step.Step, step.Steps, $"loss {step.Loss:F3} KL {kl:F3} active {active:P0}"));
        }

        IReadOnlyList<double> losses;
        // The dense model stays frozen as a whole, not only what the masked view registers of it.
        using (var frozen = new FrozenExcept(dense, []))
        using (var loop = new TrainingLoop(masked, trainable, recipe.Loop))
        {
            losses = loop.Run(batches, loss, AfterStep, cancellationToken);
        }
        int width = ExpertWidth((int)layers[0].Dense.Gate.OutFeatures, budget);
        MixtureOfExpertsFeedForward[] blocks = layers.Select(l => Export(l, width)).ToArray();
        noise.Dispose();
        return (blocks, PriorApproximateRouterTrainer.Summarize(losses));
    }

    /// <summary>The budget's share of <paramref name="intermediateSize"/>, rounded to a multiple of 8 (SIMD-friendly rows), within 1..width.</summary>
    public static int ExpertWidth(int intermediateSize, double budget)
    {
        int rounded = (int)Math.Round(budget * intermediateSize / 8) * 8;
        return Math.Clamp(rounded, Math.Min(8, intermediateSize), intermediateSize);
    }

    private static MixtureOfExpertsFeedForward Export(MaskedExpertsFeedForward layer, int width)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long[][] channels = layer.ChannelLogits().topk(width, dim: 1).indexes.sort(dim: 1).Values.data<long>().ToArray().Chunk(width).ToArray();
        Expert[] experts = channels.Select(c => ExpertSlicer.Slice(layer.Dense, c.Select(n => (int)n).ToArray())).ToArray();
        // Top-1 with router-weighted output: the chosen expert's output as is (softmax over one logit is 1).
        return new MixtureOfExpertsFeedForward(experts, [], layer.Router.detach().clone(), 1, ExpertOutputRule.RouterWeighted);
    }
}
