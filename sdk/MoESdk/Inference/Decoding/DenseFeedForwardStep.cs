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

    public unsafe void AccumulateBatch(ComputePool pool, DecodeBatch batch, int layer, ReadOnlySpan<IFeedForwardStep> sequences)
    {
        int n = sequences.Length;
        MultiVec.Inputs(_weights.Gate, batch.Normed, n, batch.Paired, batch.PairedStride, batch.Inputs);
        MultiVec.Gated(pool, _weights, batch.Inputs, batch.Hidden, n);
        MultiVec.Inputs(_weights.Down, batch.Hidden, n, batch.Paired, batch.PairedStride, batch.Inputs);
        MultiVec.Multiply(pool, _weights.Down, batch.Inputs, batch.X, n, 1f, accumulate: true);
    }

    /// <summary>This step: it keeps no per-token state (the hidden activations are the caller's scratch).</summary>
    public IFeedForwardStep Fork() => this;
}
