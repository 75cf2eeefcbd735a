using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A blockwise int8 copy of a float32 weight matrix in aligned native memory: each run of
/// <see cref="Int8Matrix.BlockSize"/> weights along a row is stored as int8 values q with one float32 scale d,
/// w ≈ d·q, d = max |w| / 127 over the block (llama.cpp's q8_0 scheme). Owns its buffers.
/// </summary>
internal sealed unsafe class Int8Weights : IDisposable
{
    private const nuint Alignment = 64;

    private sbyte* _values;
    private float* _scales;

    private Int8Weights(int rows, int cols)
    {
        _values = (sbyte*)NativeMemory.AlignedAlloc((nuint)rows * (nuint)cols, Alignment);
        _scales = (float*)NativeMemory.AlignedAlloc((nuint)rows * (nuint)(cols / Int8Matrix.BlockSize) * sizeof(float), Alignment);
        Rows = rows;
        Cols = cols;
    }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>A view of the buffers; valid until this object is disposed.</summary>
    public Int8Matrix Matrix
    {
        get
        {
            ObjectDisposedException.ThrowIf(_values == null, this);
            return new Int8Matrix(_values, _scales, Rows, Cols);
        }
    }

    /// <summary>Whether a matrix <paramref name="cols"/> wide splits into whole blocks.</summary>
    public static bool CanQuantize(int cols) => cols > 0 && cols % Int8Matrix.BlockSize == 0;

    /// <summary>Quantizes a float32 matrix whose width is a multiple of the block size.</summary>
    public static Int8Weights FromMatrix(FloatMatrix source)
    {
        if (!CanQuantize(source.Cols))
        {
            throw new ArgumentException($"int8 weights need a width that is a multiple of {Int8Matrix.BlockSize}; this matrix is {source.Cols} wide.", nameof(source));
        }
        var weights = new Int8Weights(source.Rows, source.Cols);
        Quantize(source, weights._values, weights._scales);
        return weights;
    }

    /// <summary>
    /// Quantizes <paramref name="source"/> (width a multiple of the block size) into <paramref name="values"/>
    /// (rows × cols) and <paramref name="scales"/> (one per block, row-major): the layout <see cref="Int8Matrix"/> reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(FloatMatrix source, sbyte* values, float* scales)
    {
        long blocks = (long)source.Rows * (source.Cols / Int8Matrix.BlockSize);
        for (long b = 0; b < blocks; b++)
        {
            Quantize(source.Data + (b * Int8Matrix.BlockSize), values + (b * Int8Matrix.BlockSize), out scales[b]);
        }
    }

    // Round to nearest, halves away from zero: roundf in llama.cpp's reference quantize_row_q8_0.
    private static void Quantize(float* block, sbyte* values, out float scale)
    {
        float max = 0;
        for (int i = 0; i < Int8Matrix.BlockSize; i++)
        {
            max = MathF.Max(max, MathF.Abs(block[i]));
        }
        scale = max / 127f;
        float inverse = scale == 0 ? 0 : 1f / scale;
        for (int i = 0; i < Int8Matrix.BlockSize; i++)
        {
            values[i] = (sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
        }
    }

    public void Dispose()
    {
        if (_values != null)
        {
            NativeMemory.AlignedFree(_values);
            NativeMemory.AlignedFree(_scales);
            _values = null;
            _scales = null;
        }
    }
}

/// <summary>A view of <see cref="Int8Weights"/>: row r's values start at <c>Values + r * Cols</c>, its scales at <c>Scales + r * Cols / BlockSize</c>.</summary>
internal readonly unsafe struct Int8Matrix
{
    /// <summary>Weights per scale: one AVX-512 pair of 16 lanes, and llama.cpp's q8_0 block.</summary>
    public const int BlockSize = 32;

    public Int8Matrix(sbyte* values, float* scales, int rows, int cols)
    {
        Values = values;
        Scales = scales;
        Rows = rows;
        Cols = cols;
    }

    public sbyte* Values { get; }

    public float* Scales { get; }

    public int Rows { get; }

    public int Cols { get; }
}
