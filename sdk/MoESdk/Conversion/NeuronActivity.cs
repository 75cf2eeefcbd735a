using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>How a dense FFN's neurons fire on calibration inputs: what activation-aware partitions are built from.</summary>
internal static class NeuronActivity
{
    /// <summary>The SwiGLU activations silu(gate x) ⊙ up x [tokens, width].</summary>
    public static Tensor Of(DenseFeedForward ffn, Tensor inputs)
    {
        using var noGrad = no_grad();
        return nn.functional.silu(ffn.Gate.forward(inputs)) * ffn.Up.forward(inputs);
    }

    /// <summary>
    /// 1 where a neuron is among a token's <paramref name="perToken"/> largest-magnitude activations, else 0
    /// [tokens, width]: a neuron "fires" for a token when it is one of the few that carry its output.
    /// </summary>
    public static Tensor Pattern(Tensor activations, int perToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor top = activations.abs().topk(perToken, dim: 1).indexes;
        return zeros_like(activations).scatter_(1, top, ones(top.shape)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The <paramref name="groups"/> × <paramref name="width"/> neurons that fire most often, in groups of
    /// <paramref name="width"/>, and the remaining, routed neurons (ascending): CMoE's always-on shared experts.
    /// </summary>
    public static (int[][] Shared, int[] Routed) SplitMostActive(Tensor pattern, int groups, int width)
    {
        using var scope = NewDisposeScope();
        int neurons = (int)pattern.shape[1];
        long[] byRate = pattern.mean([0]).argsort(descending: true).data<long>().ToArray();
        int[][] shared = Enumerable.Range(0, groups)
            .Select(g => byRate.Skip(g * width).Take(width).Select(n => (int)n).Order().ToArray())
            .ToArray();
        var taken = new HashSet<int>(shared.SelectMany(s => s));
        return (shared, Enumerable.Range(0, neurons).Where(n => !taken.Contains(n)).ToArray());
    }
}
