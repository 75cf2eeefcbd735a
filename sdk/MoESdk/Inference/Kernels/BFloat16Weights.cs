using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A bfloat16 copy of a float32 weight matrix in aligned native memory, rounded to nearest even, for the
/// opt-in bfloat16 matrix-vector path. Owns its buffer.
/// </summary>
internal sealed unsafe class BFloat16Weights : IDisposable
{
    // One cache line: full-width vector loads of a row start never split a line when Cols is a multiple of 32.
    private const nuint Alignment = 64;

    private ushort* _data;

    private BFloat16Weights(int rows, int cols)
    {
        _data = (ushort*)NativeMemory.AlignedAlloc((nuint)rows * (nuint)cols * sizeof(ushort), Alignment);
        Rows = rows;
        Cols = cols;
    }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>A view of the buffer; valid until this object is disposed.</summary>
    public BFloat16Matrix Matrix
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return new BFloat16Matrix(_data, Rows, Cols);
        }
    }

    /// <summary>Converts a 2-D contiguous float32 CPU tensor.</summary>
    public static BFloat16Weights FromTensor(Tensor weight) => FromMatrix(TensorMemory.Matrix(weight));

    /// <summary>Converts a float32 matrix.</summary>
    public static BFloat16Weights FromMatrix(FloatMatrix source)
    {
        var weights = new BFloat16Weights(source.Rows, source.Cols);
        long length = (long)source.Rows * source.Cols;
        for (long i = 0; i < length; i++)
        {
            weights._data[i] = ToBFloat16(source.Data[i]);
        }
        return weights;
    }

    /// <summary>Rounds to the nearest bfloat16, ties to even; NaN stays NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }
}
