using MoESdk.Inference.Kernels;

namespace MoESdk.Inference.Decoding;

/// <summary>One token through one layer's feed-forward block, added into the residual stream.</summary>
internal interface IFeedForwardStep
{
    /// <summary>Widest matrix row count this block needs as scratch.</summary>
    int ScratchWidth { get; }

    /// <summary>residual += FFN(x).</summary>
    void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> scratch, Span<float> residual);

    /// <summary>
    /// residual_s += FFN(x_s) for every sequence of a batched step (<see cref="DecodeBatch.Normed"/> to
    /// <see cref="DecodeBatch.X"/>), each result bit for bit that of <see cref="Accumulate"/>. <paramref name="sequences"/>
    /// holds each sequence's step of this layer (this one among them): they share the weights, not the routing.
    /// </summary>
    void AccumulateBatch(ComputePool pool, DecodeBatch batch, int layer, ReadOnlySpan<IFeedForwardStep> sequences);

    /// <summary>A step over the same weights and routing with its own per-token state: another lane of one session's prompt.</summary>
    IFeedForwardStep Fork();
}
