using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>Writes the raw little-endian storage of tensors to model files.</summary>
internal static class TensorBytes
{
    // Tensor storage is exposed as a Span (int length): write large tensors in pieces.
    private const long MaxPieceBytes = 1L << 30;

    // Elements converted at a time when another type is stored: a 16 MB float32 piece, not a copy of the whole tensor.
    private const long ConversionPiece = 1L << 22;

    /// <summary>
    /// Writes the elements of <paramref name="tensor"/> in row-major order as <paramref name="storeAs"/>, converting a
    /// piece at a time, so storing a large matrix in another type never holds a converted copy of all of it.
    /// </summary>
    public static void Write(Stream stream, Tensor tensor, ScalarType storeAs)
    {
        if (tensor.dtype == storeAs)
        {
            Write(stream, tensor);
            return;
        }
        using var scope = NewDisposeScope();
        Tensor flat = tensor.cpu().contiguous().view(-1);
        for (long first = 0; first < flat.shape[0]; first += ConversionPiece)
        {
            using var piece = NewDisposeScope();
            Write(stream, flat.narrow(0, first, Math.Min(ConversionPiece, flat.shape[0] - first)).to(storeAs));
        }
    }

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
