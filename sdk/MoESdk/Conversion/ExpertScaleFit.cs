using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// Training-free output calibration of a converted block. FactorLLM's N/k scale is exact only in
/// expectation; when a few experts carry most of a token's output (sparse activations) it over-amplifies
/// them. With the router's choices fixed, the per-expert scales c that make shared + Σ_chosen c_i·E_i(x)
/// closest to the dense FFN on the calibration inputs are a small least-squares problem (N unknowns); they
/// are folded into each expert's down projection, so the block keeps the FixedScale rule and its layout.
/// </summary>
internal static class ExpertScaleFit
{
    /// <summary>Ridge toward the block's current scale, relative to the mean diagonal of the normal equations.</summary>
    private const double Ridge = 1e-3;

    /// <summary>Fits and folds the scales into <paramref name="block"/>'s experts; returns them (1 = unchanged).</summary>
    public static double[] Fit(MixtureOfExpertsFeedForward block, DenseFeedForward dense, Tensor inputs)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor target = dense.forward(inputs);
        foreach (Expert shared in block.SharedExperts)
        {
            target = target - shared.forward(inputs);
        }
        (Tensor indices, _) = block.Route(block.Router.forward(inputs));
        int experts = block.Experts.Count;
        Tensor chosen = zeros(inputs.shape[0], experts).scatter_(1, indices, ones(indices.shape));
        // Column i: expert i's output where the router chose it, flattened over tokens and hidden units.
        Tensor features = stack(block.Experts.Select((e, i) => (e.forward(inputs) * chosen[TensorIndex.Colon, i].unsqueeze(1)).flatten()).ToArray(), 1)
            .to_type(ScalarType.Float64);
        Tensor gram = features.t().matmul(features);
        Tensor current = full([experts], (double)block.FixedScale, dtype: ScalarType.Float64);
        double lambda = Ridge * gram.diagonal().mean().item<double>();
        Tensor rhs = features.t().matmul(target.flatten().to_type(ScalarType.Float64)) + lambda * current;
        Tensor scales = linalg.solve(gram + eye(experts, dtype: ScalarType.Float64) * lambda, rhs) / block.FixedScale;
        double[] fitted = scales.data<double>().ToArray();
        for (int i = 0; i < experts; i++)
        {
            block.Experts[i].Down.Weight.mul_(fitted[i]);
        }
        return fitted;
    }
}
