using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// A training-free router: on calibration inputs X [tokens, hidden], measure how much each expert
/// contributes (the norm of its output) and fit a linear map from x to those contributions by ridge
/// regression, W = (XᵀX + λI)⁻¹ XᵀS. Routing then prefers the experts that would have mattered most.
/// One linear solve per layer: fast enough for build time. The logits are scaled to unit spread across
/// experts, which leaves the routing unchanged and gives trained routers a sensible starting point.
/// </summary>
internal static class AnalyticRouter
{
    /// <summary>Router weight [experts, hidden].</summary>
    public static Tensor Fit(IReadOnlyList<Expert> experts, Tensor inputs, double ridge = 1e-3)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor x = inputs.to_type(ScalarType.Float64);
        Tensor importance = stack(experts.Select(e => OutputNorm(e, inputs)).ToArray(), 1).to_type(ScalarType.Float64);
        // Center the targets: only the differences between experts decide the top-k.
        importance = importance - importance.mean([1], keepdim: true);
        Tensor gram = x.t().matmul(x);
        double scale = gram.diagonal().mean().item<double>();
        Tensor regularized = gram + eye(gram.shape[0], dtype: ScalarType.Float64) * (ridge * scale);
        Tensor solution = linalg.solve(regularized, x.t().matmul(importance));
        // Top-k choices do not depend on the logits' scale, but trained routers' softmax losses do: scale the
        // logits to unit spread across experts on the calibration inputs.
        double spread = x.matmul(solution).std(1).mean().item<double>();
        if (spread > 0)
        {
            solution = solution / spread;
        }
        return solution.t().to_type(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    // ‖down·h‖ per token as √(hᵀ (downᵀ down) h), through the expert's width × width Gram instead of its [tokens, hidden]
    // output: the same norm, without writing that output for each of a fine-grained layer's many experts.
    private static Tensor OutputNorm(Expert expert, Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor h = nn.functional.silu(expert.Gate.forward(x)) * expert.Up.forward(x);
        Tensor gram = expert.Down.Weight.t().matmul(expert.Down.Weight);
        return h.matmul(gram).mul_(h).sum(1).clamp_min_(0).sqrt_().MoveToOuterDisposeScope();
    }
}
