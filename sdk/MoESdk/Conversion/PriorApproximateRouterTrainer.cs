using MoESdk.Modules;
using MoESdk.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// FactorLLM's Prior-Approximate Router (PAR) training. For each token the prior is which experts, scaled by
/// N/k, best reproduce the dense FFN on their own: e_i = MSE(E_i(x), FFN(x) / (N/k)), label ℓ = k-hot of the
/// k smallest e_i. Objective: CE + 0.05·L_PA + 0.01·L_bal with L_PA = KL(softmax ℓ ‖ softmax r(x)) and
/// L_bal the Switch-style load balance of the top-k routing. Experts and routers train; embeddings,
/// attention, norms and head stay frozen. Unlike the published code the router gets a gradient from the
/// language-model loss too (straight-through, see <see cref="MixtureOfExpertsFeedForward.Route(TorchSharp.torch.Tensor)"/>).
/// With distillation the dense model is the teacher instead of the text: the cross-entropy is replaced by
/// KL(dense logits ‖ MoE logits) plus the MSE of each block's output to the dense FFN on the same input,
/// which keeps the conversion close to the model it came from rather than fitting the few calibration tokens.
/// </summary>
internal static class PriorApproximateRouterTrainer
{
    public const double PriorWeight = 0.05;
    public const double BalanceWeight = 0.01;

    /// <summary>Peak learning rate of the experts; routers learn <see cref="RouterRateFactor"/> times faster.</summary>
    public const double DefaultLearningRate = 2e-4;

    /// <summary>A fresh linear router moves much further than the experts should.</summary>
    public const double RouterRateFactor = 10;

    /// <summary>Trains <paramref name="moe"/>'s experts and routers in place.</summary>
    /// <param name="dense">The source model: its FFNs give the priors, its logits the distillation target.</param>
    /// <param name="moe">A conversion of <paramref name="dense"/> (every block a <see cref="MixtureOfExpertsFeedForward"/>).</param>
    /// <param name="tokens">Training text (the calibration text).</param>
    /// <param name="recipe">Steps, batch, learning rate, seed.</param>
    /// <param name="distill">Learn from the dense model (KL + per-layer MSE) instead of the text (cross-entropy).</param>
    /// <param name="progress">Receives (training, step, steps, loss).</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    public static TrainingOutcome Train(LlamaModel dense, LlamaModel moe, IReadOnlyList<int> tokens, TrainingRecipe recipe, bool distill,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var teachers = dense.Layers.Select(l => (DenseFeedForward)l.FeedForward).ToArray();
        var blocks = moe.Layers.Select(l => l.FeedForward as MixtureOfExpertsFeedForward
            ?? throw new ArgumentException("Every feed-forward block of the model to train must be a Mixture-of-Experts block.", nameof(moe))).ToArray();
        var expertParameters = blocks.SelectMany(b => b.Experts).SelectMany(e => e.parameters()).ToList();
        var routerParameters = blocks.Select(b => b.Router.Weight).ToList();
        var capture = new RoutingCapture();
        var routing = new RoutingContext { Capture = capture };
        var batches = new TrainingBatches(tokens as int[] ?? [.. tokens], recipe.BatchSize, recipe.SequenceLength);

        Tensor Loss(Tensor inputs, Tensor targets)
        {
            Tensor logits = moe.Forward(inputs, 0, null, lastTokenOnly: false, routing);
            Tensor loss = distill ? LanguageModelLoss.Distillation(dense, inputs, logits) : LanguageModelLoss.NextToken(logits, targets);
            for (int layer = 0; layer < blocks.Length; layer++)
            {
                (Tensor x, Tensor routerLogits) = capture.Entries(layer)[0];
                loss = loss + PriorWeight * PriorApproximationLoss(blocks[layer], teachers[layer], x, routerLogits)
                    + BalanceWeight * BalanceLoss(routerLogits, blocks[layer].TopK);
                if (distill)
                {
                    Tensor teacherOutput;
                    using (no_grad())
                    {
                        teacherOutput = teachers[layer].forward(x);
                    }
                    loss = loss + nn.functional.mse_loss(capture.Outputs(layer)[0], teacherOutput) / blocks.Length;
                }
            }
            return loss;
        }

        var routers = new HashSet<Parameter>(routerParameters, ReferenceEqualityComparer.Instance);
        var routerGroup = new ParameterGroup(RateFactor: RouterRateFactor);
        var expertGroup = new ParameterGroup();
        using var loop = new TrainingLoop(moe, expertParameters.Concat(routerParameters), recipe.Loop, p => routers.Contains(p) ? routerGroup : expertGroup);
        try
        {
            return Summarize(loop.Run(batches, Loss, step =>
            {
                capture.Clear();
                progress?.Report(new ConversionProgress("training", step.Step, step.Steps, $"loss {step.Loss:F3}"));
            }, cancellationToken));
        }
        finally
        {
            capture.Clear();
        }
    }

    /// <summary>
    /// KL(softmax ℓ ‖ softmax r) per token, with ℓ the k-hot of the experts that alone best approximate their
    /// share of the dense FFN's output (what the shared experts leave, over N/k): the router learns the experts'
    /// prior usefulness.
    /// </summary>
    internal static Tensor PriorApproximationLoss(MixtureOfExpertsFeedForward block, DenseFeedForward teacher, Tensor x, Tensor routerLogits)
    {
        Tensor target;
        using (no_grad())
        {
            // The routed experts share what the always-on shared experts leave of the dense output.
            Tensor routed = teacher.forward(x);
            foreach (Expert shared in block.SharedExperts)
            {
                routed = routed - shared.forward(x);
            }
            Tensor share = routed / block.FixedScale;
            Tensor errors = stack(block.Experts.Select(e => (e.forward(x) - share).pow(2).mean([-1])).ToArray(), 1);
            Tensor best = errors.topk(block.TopK, dim: -1, largest: false).indexes;
            target = zeros_like(errors).scatter_(1, best, ones(best.shape)).softmax(-1);
        }
        return nn.functional.kl_div(routerLogits.log_softmax(-1), target, reduction: nn.Reduction.Sum) / routerLogits.shape[0];
    }

    /// <summary>
    /// Switch-style load balance: N/k · Σ_i f_i·P_i, f_i the share of routing slots expert i gets (top-k of
    /// softmax r), P_i its mean router probability. 1 for a perfectly balanced router, up to N/k when collapsed.
    /// </summary>
    internal static Tensor BalanceLoss(Tensor routerLogits, int topK)
    {
        long experts = routerLogits.shape[^1];
        Tensor probabilities = routerLogits.softmax(-1);
        Tensor top = probabilities.topk(topK, dim: -1).indexes;
        Tensor chosen = zeros_like(probabilities).scatter_(1, top, ones(top.shape));
        return (chosen.mean([0]) * probabilities.mean([0])).sum() * ((double)experts / topK);
    }

    internal static TrainingOutcome Summarize(IReadOnlyList<double> losses)
    {
        if (losses.Count == 0)
        {
            return new TrainingOutcome(double.NaN, double.NaN);
        }
        int tenth = Math.Max(1, losses.Count / 10);
        return new TrainingOutcome(losses.Take(tenth).Average(), losses.TakeLast(tenth).Average());
    }
}
