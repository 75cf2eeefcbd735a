using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>Cuts experts out of a dense SwiGLU FFN: the chosen rows of gate/up and columns of down.</summary>
internal static class ExpertSlicer
{
    public static Expert Slice(DenseFeedForward dense, int[] neurons)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor index = tensor(neurons.Select(n => (long)n).ToArray());
        Tensor gate = dense.Gate.Weight.index_select(0, index).contiguous();
        Tensor up = dense.Up.Weight.index_select(0, index).contiguous();
        Tensor down = dense.Down.Weight.index_select(1, index).contiguous();
        var expert = new Expert(gate, up, down);
        return expert;
    }

    /// <summary>A Mixture-of-Experts block with the partition's experts and the given router and rule.</summary>
    public static MixtureOfExpertsFeedForward Build(DenseFeedForward dense, NeuronPartition partition, Tensor router, int topK, ExpertOutputRule rule)
    {
        partition.Validate((int)dense.Gate.OutFeatures);
        if (HeldBlocks.IsHeld(dense.Gate.Weight))
        {
            // A slice of a held matrix would have no block scales after it (HeldBlocks.Matrix).
            throw new NotSupportedException("The experts of a model held in int8 or int4 cannot be cut from its matrices; convert the float32 model.");
        }
        return new MixtureOfExpertsFeedForward(
            partition.Experts.Select(e => Slice(dense, e)).ToArray(),
            partition.Shared.Select(s => Slice(dense, s)).ToArray(),
            router, topK, rule);
    }
}
