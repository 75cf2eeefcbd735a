using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A blockwise 4-bit copy of a float32 weight matrix, as llama.cpp's q4_0: each run of <see cref="Int8Matrix.BlockSize"/>
/// weights along a row is 16 bytes of values q in 0..15 with one scale d, w ≈ d·(q − 8). Byte j of a block holds value
/// j in its low four bits and value j + 16 in its high four bits.
/// </summary>
internal sealed unsafe class Int4Weights : BlockWeights
{
    private Int4Weights(FloatMatrix source)
        : base(source, Int4Matrix.BlockBytes, &QuantizeBlock, "int4")
    {
    }

    /// <summary>A view of the buffers; valid until this object is disposed.</summary>
    public Int4Matrix Matrix => new(Values, Scales, Rows, Cols);

    public override WeightMatrix View => Matrix;

    /// <summary>Quantizes a float32 matrix whose width is a multiple of the block size.</summary>
    public static Int4Weights FromMatrix(FloatMatrix source) => new(source);

    /// <summary>
    /// Quantizes <paramref name="source"/> (width a multiple of the block size) into <paramref name="values"/>
    /// (<see cref="Int4Matrix.ValueBytes"/>) and <paramref name="scales"/> (one per block, row-major): the layout
    /// <see cref="Int4Matrix"/> reads.
    /// </summary>
    public static void Quantize(FloatMatrix source, byte* values, float* scales) =>
        Quantize(source, values, scales, Int4Matrix.BlockBytes, &QuantizeBlock);

    /// <summary>
    /// llama.cpp's reference quantize_row_q4_0, step for step: the value of largest magnitude maps to −8 (so d carries
    /// its sign), q = min(15, trunc(w/d + 8.5)). The scale is rounded to half precision, as a q4_0 block stores it,
    /// so a GGUF q4_0 export of these blocks holds the same numbers. Returns the scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float QuantizeBlock(float* block, byte* values)
    {
        float largest = 0, signed = 0;
        for (int i = 0; i < Int8Matrix.BlockSize; i++)
        {
            if (largest < MathF.Abs(block[i]))
            {
                largest = MathF.Abs(block[i]);
                signed = block[i];
            }
        }
        float scale = signed / -8f;
        float inverse = scale != 0 ? 1f / scale : 0f;
        const int half = Int8Matrix.BlockSize / 2;
        for (int j = 0; j < half; j++)
        {
            int low = Math.Min(15, (int)(sbyte)((block[j] * inverse) + 8.5f));
            int high = Math.Min(15, (int)(sbyte)((block[half + j] * inverse) + 8.5f));
            values[j] = (byte)(low | (high << 4));
        }
        return (float)(Half)scale;
    }
}

/// <summary>
/// A view of <see cref="Int4Weights"/>: row r's packed values start at <c>Values + r * Cols / 2</c>, its scales at
/// <c>Scales + r * Cols / BlockSize</c>.
/// </summary>
internal readonly unsafe struct Int4Matrix
{
    /// <summary>Bytes of one block's 32 values.</summary>
    public const int BlockBytes = Int8Matrix.BlockSize / 2;

    public Int4Matrix(byte* values, float* scales, int rows, int cols)
    {
        Values = values;
        Scales = scales;
        Rows = rows;
        Cols = cols;
    }

    public byte* Values { get; }

    public float* Scales { get; }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Bytes of the packed values of a rows × cols matrix.</summary>
    public static nuint ValueBytes(int rows, int cols) => (nuint)rows * (nuint)cols / 2;
}
