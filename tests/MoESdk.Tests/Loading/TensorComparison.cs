using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

internal static class TensorComparison
{
    /// <summary>Same shape, same dtype and bit-for-bit equal values (TorchSharp's <c>equal</c> is elementwise).</summary>
    public static bool IsIdenticalTo(this Tensor actual, Tensor expected)
    {
        if (actual.dtype != expected.dtype || !actual.shape.SequenceEqual(expected.shape))
        {
            return false;
        }
        using Tensor same = actual.eq(expected).all();
        return same.item<bool>();
    }
}
