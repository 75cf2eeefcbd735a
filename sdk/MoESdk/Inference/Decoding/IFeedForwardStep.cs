using MoESdk.Inference.Kernels;

namespace MoESdk.Inference.Decoding;

/// <summary>One token through one layer's feed-forward block, added into the residual stream.</summary>
internal interface IFeedForwardStep
{
    /// <summary>Widest matrix row count this block needs as scratch.</summary>
    int ScratchWidth { get; }

    /// <summary>residual += FFN(x).</summary>
    void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> scratch, Span<float> residual);
}
