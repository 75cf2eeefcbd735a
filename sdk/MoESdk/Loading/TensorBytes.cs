using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>Writes the raw little-endian storage of tensors to model files.</summary>
internal static class TensorBytes
{
    // Tensor storage is exposed as a Span (int length): write large tensors in pieces.
    private const long MaxPieceBytes = 1L << 30;

    /// <summary>Writes the elements of <paramref name="tensor"/> in row-major order, in its own dtype.</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        if (tensor.numel() == 0)
        {
            return;
        }
        using var scope = NewDisposeScope();
        Tensor flat = tensor.cpu().contiguous().view(-1);
        long piece = MaxPieceBytes / flat.element_size();
        for (long first = 0; first < flat.shape[0]; first += piece)
        {
            Tensor source = flat.narrow(0, first, Math.Min(piece, flat.shape[0] - first));
            stream.Write(source.bytes);
        }
    }
}
