using MoESdk.Inference.Kernels;
using MoESdk.Modules;

namespace MoESdk.Inference.Decoding;

/// <summary>The whole SwiGLU block, every neuron, as the dense model computes it.</summary>
internal sealed class DenseFeedForwardStep : IFeedForwardStep
{
    private readonly SwiGluWeights _weights;

    public DenseFeedForwardStep(DenseFeedForward block, DecodeWeights weights) =>
        _weights = new SwiGluWeights(weights.Matrix(block.Gate.Weight), weights.Matrix(block.Up.Weight), weights.Matrix(block.Down.Weight));

    public int ScratchWidth => _weights.Hidden;

    public void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> scratch, Span<float> residual) =>
        SwiGluFeedForward.Accumulate(pool, _weights, x, scratch[.._weights.Hidden], 1f, residual);
}
