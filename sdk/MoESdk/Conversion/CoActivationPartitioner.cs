using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// CMoE's split, from calibration activations: a token "uses" the neurons among its largest-magnitude
/// activations (one expert's width of them). The neurons used most often become the always-on shared
/// experts; the rest are grouped by co-activation (balanced k-means on their firing patterns over the
/// calibration tokens), so neurons that fire together land in the same routed expert.
/// </summary>
internal sealed class CoActivationPartitioner(int seed) : INeuronPartitioner
{
    /// <inheritdoc/>
    public string Name => "coactivation";

    /// <inheritdoc/>
    public NeuronPartition Partition(DenseFeedForward ffn, Tensor calibrationInputs, int experts, int sharedExperts)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int neurons = (int)ffn.Gate.OutFeatures;
        int width = neurons / (experts + sharedExperts);
        Tensor pattern = NeuronActivity.Pattern(NeuronActivity.Of(ffn, calibrationInputs), width);
        (int[][] shared, int[] rest) = NeuronActivity.SplitMostActive(pattern, sharedExperts, width);
        // Each neuron's firing pattern over the tokens; cosine similarity of two patterns is how often
        // the neurons fire together relative to how often each fires.
        Tensor patterns = pattern.index_select(1, tensor(rest.Select(n => (long)n).ToArray())).t();
        int[][] groups = BalancedKMeans.Cluster(patterns, experts, seed);
        return new NeuronPartition(groups.Select(g => g.Select(i => rest[i]).ToArray()).ToArray(), shared);
    }
}
