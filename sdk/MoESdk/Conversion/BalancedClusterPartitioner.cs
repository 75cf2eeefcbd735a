using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// MoEfication's split: neurons whose input weights point the same way fire on the same inputs, so
/// balanced k-means over each neuron's normalized [W_gate row, W_up row] groups them into equal-width
/// experts. Shared experts, if asked for, take the most often firing neurons first (as in CMoE).
/// </summary>
internal sealed class BalancedClusterPartitioner(int seed) : INeuronPartitioner
{
    /// <inheritdoc/>
    public string Name => "cluster";

    /// <inheritdoc/>
    public NeuronPartition Partition(DenseFeedForward ffn, Tensor calibrationInputs, int experts, int sharedExperts)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int neurons = (int)ffn.Gate.OutFeatures;
        int width = neurons / (experts + sharedExperts);
        int[][] shared = [];
        int[] rest = Enumerable.Range(0, neurons).ToArray();
        if (sharedExperts > 0)
        {
            Tensor pattern = NeuronActivity.Pattern(NeuronActivity.Of(ffn, calibrationInputs), width);
            (shared, rest) = NeuronActivity.SplitMostActive(pattern, sharedExperts, width);
        }
        Tensor index = tensor(rest.Select(n => (long)n).ToArray());
        Tensor features = cat([
            nn.functional.normalize(ffn.Gate.Weight.index_select(0, index), dim: 1),
            nn.functional.normalize(ffn.Up.Weight.index_select(0, index), dim: 1)], 1);
        int[][] groups = BalancedKMeans.Cluster(features, experts, seed);
        return new NeuronPartition(groups.Select(g => g.Select(i => rest[i]).ToArray()).ToArray(), shared);
    }
}
