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
        var trainable = layers.SelectMany(l => l.parameters()).ToList();
        var batches = new TrainingBatches(tokens as int[] ?? [.. tokens], recipe.BatchSize, recipe.SequenceLength);
        var schedule = new LearningRateSchedule(recipe.LearningRate, recipe.WarmupSteps, recipe.Steps);
        var losses = new List<double>(recipe.Steps);
        using (var frozen = new FrozenExcept(dense, []))
        using (var optimizer = optim.AdamW(trainable, lr: recipe.LearningRate, beta1: 0.9, beta2: 0.95, weight_decay: 0))
        {
            masked.train();
            for (int step = 0; step < recipe.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                optimizer.ParamGroups.First().LearningRate = schedule.At(step);
                string detail;
                using (NewDisposeScope())
                {
                    (Tensor inputs, _) = batches.At(recipe.Seed, step);
                    Tensor teacher;
                    using (no_grad())
                    {
                        teacher = dense.forward(inputs).log_softmax(-1);
                    }
                    optimizer.zero_grad();
                    Tensor student = masked.forward(inputs).log_softmax(-1);
                    long vocab = student.shape[^1];
                    Tensor kl = nn.functional.kl_div(student.view(-1, vocab), teacher.view(-1, vocab), reduction: nn.Reduction.Mean, log_target: true) * vocab;
                    MaskStatistics[] stats = layers.Select(l => l.Statistics!).ToArray();
                    Tensor active = stack(stats.Select(s => s.ActiveShare).ToArray()).mean();
                    Tensor coverage = stack(stats.Select(s => s.Coverage).ToArray()).mean();
                    Tensor balance = stack(stats.Select(s => s.Balance).ToArray()).mean();
                    // log(max(R, p) / min(R, p)) = |log R − log p|.
                    Tensor ratio = (active.clamp_min(1e-6).log() - Math.Log(budget)).abs();
                    Tensor loss = KlWeight * kl + RatioWeight * ratio - CoverageWeight * coverage.log() + BalanceWeight * balance;
                    loss.backward();
                    nn.utils.clip_grad_norm_(trainable, 1.0);
                    optimizer.step();
                    losses.Add(loss.item<float>());
                    detail = $"loss {losses[^1]:F3} KL {kl.item<float>():F3} active {active.item<float>():P0}";
                }
                foreach (MaskedExpertsFeedForward layer in layers)
                {
                    layer.ClearStatistics();
                }
                progress?.Report(new ConversionProgress("training", step + 1, recipe.Steps, detail));
            }
            masked.eval();
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
