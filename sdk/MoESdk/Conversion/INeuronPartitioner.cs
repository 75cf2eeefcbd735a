using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>Divides one layer's dense FFN neurons into routed experts (and shared experts).</summary>
internal interface INeuronPartitioner
{
    /// <summary>Name recorded in the manifest: contiguous, cluster, coactivation, ...</summary>
    string Name { get; }

    /// <param name="ffn">The layer's dense FFN.</param>
    /// <param name="calibrationInputs">FFN inputs seen on calibration text [tokens, hidden].</param>
    /// <param name="experts">Routed experts wanted.</param>
    /// <param name="sharedExperts">Shared (always-on) experts wanted.</param>
    NeuronPartition Partition(DenseFeedForward ffn, Tensor calibrationInputs, int experts, int sharedExperts);
}
