using System.Buffers.Binary;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// Turns float32 weights into the bytes of a ggml tensor type, in pieces of whole rows so a large tensor
/// never needs a second full-size buffer. Q8_0 and Q4_0 are ggml's reference quantizers, the ones the int8 and int4
/// decode weights use (<see cref="Inference.Kernels.Int8Weights.QuantizeBlock"/>, <see cref="Inference.Kernels.Int4Weights.QuantizeBlock"/>):
/// blocks of 32 values with a float16 scale.
/// </summary>
internal static unsafe class GgufTensorEncoding
{
    /// <summary>Values per Q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    private const int Q8BlockBytes = sizeof(ushort) + Q8BlockSize;

    private const int Q4BlockBytes = sizeof(ushort) + (Q8BlockSize / 2);

    /// <summary>Whether <paramref name="type"/> stores rows in blocks of <see cref="Q8BlockSize"/> values.</summary>
    public static bool IsBlockType(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    // Rows encoded per piece: bounded so the converted copy of one piece stays small.
    private const long PieceElements = 1L << 22;

    /// <summary>Bytes that <paramref name="elements"/> values take in <paramref name="type"/>.</summary>
    public static long ByteCount(GgufTensorType type, long elements) => type switch
    {
        GgufTensorType.F32 => elements * 4,
        GgufTensorType.F16 or GgufTensorType.BF16 => elements * 2,
        GgufTensorType.Q8_0 => elements / Q8BlockSize * Q8BlockBytes,
        GgufTensorType.Q4_0 => elements / Q8BlockSize * Q4BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a type this writer encodes"),
    };

    /// <summary>Writes <paramref name="tensor"/> (float32, any shape) row-major as <paramref name="type"/>.</summary>
    public static void Write(Stream stream, Tensor tensor, GgufTensorType type)
    {
        using var scope = NewDisposeScope();
        Tensor flat = tensor.cpu().to(ScalarType.Float32).contiguous().view(-1);
        long total = flat.shape[0];
        long piece = PieceElements - PieceElements % Q8BlockSize;
        for (long first = 0; first < total; first += piece)
        {
            using var pieceScope = NewDisposeScope();
            Tensor values = flat.narrow(0, first, Math.Min(piece, total - first));
            switch (type)
            {
                case GgufTensorType.F32:
                    stream.Write(values.bytes);
                    break;
                case GgufTensorType.F16:
                    stream.Write(values.to(ScalarType.Float16).bytes);
                    break;
                case GgufTensorType.BF16:
                    // Round to nearest even, as PyTorch and gguf-py both do.
                    stream.Write(values.to(ScalarType.BFloat16).bytes);
                    break;
                case GgufTensorType.Q8_0:
                    WriteBlocks(stream, MemoryMarshal.Cast<byte, float>(values.bytes), type, Q8BlockSize, &Inference.Kernels.Int8Weights.QuantizeBlock);
                    break;
                case GgufTensorType.Q4_0:
                    WriteBlocks(stream, MemoryMarshal.Cast<byte, float>(values.bytes), type, Q8BlockSize / 2, &Inference.Kernels.Int4Weights.QuantizeBlock);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, "not a type this writer encodes");
            }
        }
    }

    // Each block: its scale in half precision, then its values, as the int8 and int4 decode weights quantize them.
    private static void WriteBlocks(Stream stream, ReadOnlySpan<float> values, GgufTensorType type, int valueBytes, delegate*<float*, byte*, float> quantizeBlock)
    {
        if (values.Length % Q8BlockSize != 0)
        {
            throw new ArgumentException($"{type} needs a multiple of {Q8BlockSize} values, got {values.Length}.", nameof(values));
        }
        int blockBytes = sizeof(ushort) + valueBytes;
        var buffer = new byte[values.Length / Q8BlockSize * blockBytes];
        fixed (float* x = values)
        fixed (byte* output = buffer)
        {
            for (int block = 0; block < values.Length / Q8BlockSize; block++)
            {
                byte* target = output + (block * blockBytes);
                float d = quantizeBlock(x + (block * Q8BlockSize), target + sizeof(ushort));
                BinaryPrimitives.WriteHalfLittleEndian(new Span<byte>(target, sizeof(ushort)), (Half)d);
            }
        }
        stream.Write(buffer);
    }
}
