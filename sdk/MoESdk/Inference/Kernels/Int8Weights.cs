using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A blockwise int8 copy of a float32 weight matrix: each run of <see cref="Int8Matrix.BlockSize"/> weights along a row
/// is stored as int8 values q with one float32 scale d, w ≈ d·q, d = max |w| / 127 over the block (llama.cpp's q8_0
/// scheme).
/// </summary>
internal sealed unsafe class Int8Weights : BlockWeights
{
    private Int8Weights(FloatMatrix source)
        : base(source, Int8Matrix.BlockSize, &QuantizeBlock, "int8")
    {
    }

    /// <summary>A view of the buffers; valid until this object is disposed.</summary>
    public Int8Matrix Matrix => new((sbyte*)Values, Scales, Rows, Cols);

    public override WeightMatrix View => Matrix;

    /// <summary>Quantizes a float32 matrix whose width is a multiple of the block size.</summary>
    public static Int8Weights FromMatrix(FloatMatrix source) => new(source);

    /// <summary>
    /// Quantizes <paramref name="source"/> (width a multiple of the block size) into <paramref name="values"/>
    /// (rows × cols) and <paramref name="scales"/> (one per block, row-major): the layout <see cref="Int8Matrix"/> reads.
    /// </summary>
    public static void Quantize(FloatMatrix source, sbyte* values, float* scales) =>
        Quantize(source, (byte*)values, scales, Int8Matrix.BlockSize, &QuantizeBlock);

    /// <summary>
    /// llama.cpp's reference quantize_row_q8_0 for one block of 32: d = max |w| / 127, q = round(w / d), halves away from
    /// zero (roundf). Returns d in float32 (a q8_0 block stores it in half precision; q is computed from the float32 d
    /// either way). Writes 32 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float QuantizeBlock(float* block, byte* values)
    {
        float max = 0;
        for (int i = 0; i < Int8Matrix.BlockSize; i++)
        {
            max = MathF.Max(max, MathF.Abs(block[i]));
        }
        float scale = max / 127f;
        float inverse = scale == 0 ? 0 : 1f / scale;
        for (int i = 0; i < Int8Matrix.BlockSize; i++)
        {
            values[i] = unchecked((byte)(sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero));
        }
        return scale;
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
