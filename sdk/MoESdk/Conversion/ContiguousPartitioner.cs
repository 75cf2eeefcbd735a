using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// FactorLLM's split: expert i takes neurons [i·M, (i+1)·M), M = width / groups; shared experts, if any,
/// take the last slices.
/// </summary>
internal sealed class ContiguousPartitioner : INeuronPartitioner
{
    public string Name => "contiguous";

    public NeuronPartition Partition(DenseFeedForward ffn, Tensor calibrationInputs, int experts, int sharedExperts)
    {
        NeuronPartition all = Split((int)ffn.Gate.OutFeatures, experts + sharedExperts);
        return new NeuronPartition(all.Experts.Take(experts).ToArray(), all.Experts.Skip(experts).ToArray());
    }

    public static NeuronPartition Split(int intermediateSize, int experts)
    {
        if (experts < 1 || intermediateSize % experts != 0)
        {
            throw new ArgumentException($"{experts} experts do not divide the FFN width {intermediateSize} into equal slices; choose a divisor of {intermediateSize}.");
        }
        int width = intermediateSize / experts;
        return new NeuronPartition(
            Enumerable.Range(0, experts).Select(e => Enumerable.Range(e * width, width).ToArray()).ToArray(),
            []);
    }
}
