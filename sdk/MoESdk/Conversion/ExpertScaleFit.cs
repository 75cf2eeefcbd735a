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

    /// <summary>Calibration tokens per pass: a pass holds every expert's output for them, about 64M floats at most.</summary>
    private static long TokensPerPass(int experts, long hidden) => Math.Max(1, (1L << 26) / (experts * hidden));

    /// <summary>Fits and folds the scales into <paramref name="block"/>'s experts; returns them (1 = unchanged).</summary>
    /// <param name="block">The converted block; its experts' down projections are scaled in place.</param>
    /// <param name="dense">The dense FFN the block replaces.</param>
    /// <param name="inputs">Calibration inputs [tokens, hidden].</param>
    /// <param name="tokensPerPass">Tokens taken at a time (null: as many as about 64M floats of expert outputs hold).</param>
    public static double[] Fit(MixtureOfExpertsFeedForward block, DenseFeedForward dense, Tensor inputs, long? tokensPerPass = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int experts = block.Experts.Count;
        long tokens = inputs.shape[0], hidden = inputs.shape[1];
        // The normal equations of min ‖target − Σ_chosen c_i·E_i(x)‖² over all tokens and hidden units: entry (i, j)
        // sums E_i(x)·E_j(x) over the tokens that chose both. Built per token from its k chosen outputs (k² products)
        // rather than from an all-expert design matrix (N² products over tokens × hidden: 2 GB and a minute per
        // layer for 128 experts of the reference model).
        Tensor gram = zeros(experts * experts, dtype: ScalarType.Float64, device: inputs.device);
        Tensor projected = zeros(experts, dtype: ScalarType.Float64, device: inputs.device);
        long pass = tokensPerPass ?? TokensPerPass(experts, hidden);
        for (long start = 0; start < tokens; start += pass)
        {
            using var passScope = NewDisposeScope();
            Tensor x = inputs[TensorIndex.Slice(start, Math.Min(tokens, start + pass))];
            Tensor target = dense.forward(x);
            foreach (Expert shared in block.SharedExperts)
            {
                target = target - shared.forward(x);
            }
            (Tensor indices, _) = block.Route(block.Router.forward(x));
            Tensor outputs = stack(block.Experts.Select(e => e.forward(x)).ToArray(), 1);
            Tensor chosen = outputs.gather(1, indices.unsqueeze(-1).expand(-1, -1, hidden)).to_type(ScalarType.Float64);
            Tensor pairs = chosen.matmul(chosen.transpose(1, 2));
            gram.index_add_(0, (indices.unsqueeze(2) * experts + indices.unsqueeze(1)).flatten(), pairs.flatten(), 1.0);
            projected.index_add_(0, indices.flatten(), (chosen * target.to_type(ScalarType.Float64).unsqueeze(1)).sum(-1).flatten(), 1.0);
        }
        gram = gram.view(experts, experts);
        Tensor current = full([experts], (double)block.FixedScale, dtype: ScalarType.Float64, device: inputs.device);
        double lambda = Ridge * gram.diagonal().mean().item<double>();
        Tensor rhs = projected + lambda * current;
        Tensor scales = linalg.solve(gram + eye(experts, dtype: ScalarType.Float64, device: inputs.device) * lambda, rhs) / block.FixedScale;
        double[] fitted = scales.cpu().data<double>().ToArray();
        for (int i = 0; i < experts; i++)
        {
            block.Experts[i].Down.Weight.mul_(fitted[i]);
        }
        return fitted;
    }
}
