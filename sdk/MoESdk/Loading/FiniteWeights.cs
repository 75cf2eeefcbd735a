using System.Numerics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Finds NaN and ±Inf in loaded weights. One such value turns every activation it touches into NaN, and the
/// model then "runs" and prints garbage with exit code 0, so a loader refuses it and names the first one.
/// The scan is vectorized and reads each weight once; <see cref="LoadOptions.TrustWeights"/> skips it.
/// </summary>
internal static class FiniteWeights
{
    // TorchSharp exposes storage as a Span of int length: scan in pieces below that.
    private const long PieceElements = 1L << 28;

    private const int ExponentMask = 0x7F800000;

    /// <summary>Throws <see cref="ModelFormatException"/> naming <paramref name="source"/>, the tensor and the first non-finite index.</summary>
    public static void Check(Tensor tensor, string source, string name)
    {
        if (tensor.numel() == 0)
        {
            return;
        }
        if (tensor.dtype == ScalarType.BFloat16)
        {
            // bfloat16 is float32's upper half: widened a small piece at a time (16 MB), it has the same NaN and infinities.
            CheckPieces(tensor, source, name, 1L << 22, piece => piece.to(ScalarType.Float32));
            return;
        }
        if (tensor.dtype != ScalarType.Float32)
        {
            return;
        }
        CheckPieces(tensor, source, name, PieceElements, piece => piece);
    }

    private static void CheckPieces(Tensor tensor, string source, string name, long pieceElements, Func<Tensor, Tensor> asFloat32)
    {
        using Tensor flat = tensor.contiguous().view(-1);
        long total = flat.shape[0];
        for (long first = 0; first < total; first += pieceElements)
        {
            using Tensor slice = flat.narrow(0, first, Math.Min(pieceElements, total - first));
            using Tensor piece = asFloat32(slice);
            ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(piece.bytes);
            int index = IndexOfNonFinite(values);
            if (index >= 0)
            {
                long flatIndex = first + index;
                throw new ModelFormatException(source,
                    $"tensor '{name}' holds {Describe(values[index])} at index [{string.Join(", ", Unravel(flatIndex, tensor.shape))}]: the weights are corrupt (a diverged training run or a damaged file); use a sound copy of the model");
            }
        }
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        ReadOnlySpan<int> bits = MemoryMarshal.Cast<float, int>(values);
        int width = Vector<int>.Count;
        var mask = new Vector<int>(ExponentMask);
        int i = 0;
        // A float is NaN or infinite exactly when all its exponent bits are set. Blocks of vectors are OR-ed
        // together and only a block that shows one is searched element by element.
        const int BlockVectors = 64;
        for (; i <= bits.Length - (width * BlockVectors); i += width * BlockVectors)
        {
            Vector<int> seen = Vector<int>.Zero;
            for (int v = 0; v < BlockVectors; v++)
            {
                var vector = new Vector<int>(bits.Slice(i + (v * width), width));
                seen |= Vector.Equals(vector & mask, mask);
            }
            if (seen != Vector<int>.Zero)
            {
                break;
            }
        }
        for (; i < bits.Length; i++)
        {
            if ((bits[i] & ExponentMask) == ExponentMask)
            {
                return i;
            }
        }
        return -1;
    }

    private static string Describe(float value) => float.IsNaN(value) ? "NaN" : value > 0 ? "+infinity" : "-infinity";

    private static long[] Unravel(long flatIndex, long[] shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flatIndex % shape[d];
            flatIndex /= shape[d];
        }
        return index;
    }
}
