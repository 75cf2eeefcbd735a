using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A row-major weight matrix in one of the <see cref="DecodePrecision"/> layouts, in memory the view does not own
/// (a float32 tensor's storage, <see cref="BFloat16Weights"/>, <see cref="Int8Weights"/> or <see cref="Int4Weights"/>). The kernels take this
/// one type and branch on the precision once per four rows, so every projection runs in any precision.
/// </summary>
internal readonly unsafe struct WeightMatrix
{
    private readonly void* _data;
    private readonly float* _scales;

    private WeightMatrix(DecodePrecision precision, void* data, float* scales, int rows, int cols)
    {
        Precision = precision;
        _data = data;
        _scales = scales;
        Rows = rows;
        Cols = cols;
    }

    public DecodePrecision Precision { get; }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Weight bytes a product with this matrix streams (scales included).</summary>
    public long Bytes => Precision switch
    {
        DecodePrecision.Float32 => (long)Rows * Cols * sizeof(float),
        DecodePrecision.BFloat16 => (long)Rows * Cols * sizeof(ushort),
        DecodePrecision.Int4 => ((long)Rows * Cols / 2) + ((long)Rows * (Cols / Int8Matrix.BlockSize) * sizeof(float)),
        _ => ((long)Rows * Cols) + ((long)Rows * (Cols / Int8Matrix.BlockSize) * sizeof(float)),
    };

    public static implicit operator WeightMatrix(FloatMatrix matrix) => new(DecodePrecision.Float32, matrix.Data, null, matrix.Rows, matrix.Cols);

    public static implicit operator WeightMatrix(BFloat16Matrix matrix) => new(DecodePrecision.BFloat16, matrix.Data, null, matrix.Rows, matrix.Cols);

    public static implicit operator WeightMatrix(Int8Matrix matrix) => new(DecodePrecision.Int8, matrix.Values, matrix.Scales, matrix.Rows, matrix.Cols);

    public static implicit operator WeightMatrix(Int4Matrix matrix) => new(DecodePrecision.Int4, matrix.Values, matrix.Scales, matrix.Rows, matrix.Cols);

    /// <summary>
    /// Rows <paramref name="r0"/> and <paramref name="r1"/> of this matrix and <paramref name="r2"/> and <paramref name="r3"/>
    /// of <paramref name="other"/> (same precision and width; often this matrix) dotted with the input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dot4(int r0, int r1, in WeightMatrix other, int r2, int r3, in RowInput x,
        out float s0, out float s1, out float s2, out float s3)
    {
        switch (Precision)
        {
            case DecodePrecision.Float32:
                RowDot.Four(FloatRow(r0), FloatRow(r1), other.FloatRow(r2), other.FloatRow(r3), x.Values, Cols, out s0, out s1, out s2, out s3);
                break;
            case DecodePrecision.BFloat16:
                RowDot.Four(HalfRow(r0), HalfRow(r1), other.HalfRow(r2), other.HalfRow(r3), x.Values, x.Paired, x.PairedLength, Cols,
                    out s0, out s1, out s2, out s3);
                break;
            case DecodePrecision.Int4:
                RowDot.Four(PackedRow(r0), PackedRow(r1), other.PackedRow(r2), other.PackedRow(r3),
                    ScaleRow(r0), ScaleRow(r1), other.ScaleRow(r2), other.ScaleRow(r3), x.Values, Cols, out s0, out s1, out s2, out s3);
                break;
            default:
                RowDot.Four(ByteRow(r0), ByteRow(r1), other.ByteRow(r2), other.ByteRow(r3),
                    ScaleRow(r0), ScaleRow(r1), other.ScaleRow(r2), other.ScaleRow(r3), x.Values, Cols, out s0, out s1, out s2, out s3);
                break;
        }
    }

    /// <summary>
    /// <see cref="Dot4"/> with two inputs, <paramref name="x"/> and <paramref name="y"/>: the same sums, bit for bit, with
    /// float32 and bfloat16 rows loaded once for both where Vector512 runs, int8 and int4 blocks widened once for both with AVX-512
    /// (a batched step's sequences in pairs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dot4Pair(int r0, int r1, in WeightMatrix other, int r2, int r3, in RowInput x, in RowInput y, int nextRows,
        out float x0, out float x1, out float x2, out float x3, out float y0, out float y1, out float y2, out float y3)
    {
        if (Precision == DecodePrecision.Float32 && Vector512.IsHardwareAccelerated)
        {
            RowDot.FourPair(FloatRow(r0), FloatRow(r1), other.FloatRow(r2), other.FloatRow(r3), x.Values, y.Values, Cols, nextRows,
                out x0, out x1, out x2, out x3, out y0, out y1, out y2, out y3);
            return;
        }
        if (Precision == DecodePrecision.BFloat16 && Vector512.IsHardwareAccelerated && x.PairedLength == y.PairedLength)
        {
            RowDot.FourPair(HalfRow(r0), HalfRow(r1), other.HalfRow(r2), other.HalfRow(r3), x.Values, x.Paired, y.Values, y.Paired, x.PairedLength, Cols, nextRows,
                out x0, out x1, out x2, out x3, out y0, out y1, out y2, out y3);
            return;
        }
        if (Precision == DecodePrecision.Int8 && CanAccumulateLanes)
        {
            RowDot.FourPair(ByteRow(r0), ByteRow(r1), other.ByteRow(r2), other.ByteRow(r3), ScaleRow(r0), ScaleRow(r1), other.ScaleRow(r2), other.ScaleRow(r3),
                x.Values, y.Values, Cols, nextRows, out x0, out x1, out x2, out x3, out y0, out y1, out y2, out y3);
            return;
        }
        if (Precision == DecodePrecision.Int4 && CanAccumulateLanes)
        {
            RowDot.FourPair(PackedRow(r0), PackedRow(r1), other.PackedRow(r2), other.PackedRow(r3), ScaleRow(r0), ScaleRow(r1), other.ScaleRow(r2), other.ScaleRow(r3),
                x.Values, y.Values, Cols, nextRows, out x0, out x1, out x2, out x3, out y0, out y1, out y2, out y3);
            return;
        }
        Dot4(r0, r1, other, r2, r3, x, out x0, out x1, out x2, out x3);
        Dot4(r0, r1, other, r2, r3, y, out y0, out y1, out y2, out y3);
    }

    /// <summary>Widest int8 or int4 matrix whose four rows a step widens on the stack (<see cref="Widen4"/>): 128 KiB of floats.</summary>
    public const int MaxWidenedColumns = 8192;

    /// <summary>
    /// Whether a step with many inputs widens four rows once for all of them (<see cref="Widen4"/>,
    /// <see cref="Dot4PairWidened"/>): int8 and int4 with AVX-512, where widening a block costs as much as its products with two inputs.
    /// </summary>
    public bool WidensForMany => Precision is DecodePrecision.Int8 or DecodePrecision.Int4 && CanAccumulateLanes && Cols <= MaxWidenedColumns;

    /// <summary>The int8 or int4 values of rows r0, r1 of this matrix and r2, r3 of <paramref name="other"/> as floats, one after another in <paramref name="tile"/> (4 × <see cref="Cols"/>); needs <see cref="WidensForMany"/>.</summary>
    public void Widen4(int r0, int r1, in WeightMatrix other, int r2, int r3, float* tile)
    {
        if (Precision == DecodePrecision.Int4)
        {
            RowDot.Widen(PackedRow(r0), tile, Cols);
            RowDot.Widen(PackedRow(r1), tile + Cols, Cols);
            RowDot.Widen(other.PackedRow(r2), tile + (2 * Cols), Cols);
            RowDot.Widen(other.PackedRow(r3), tile + (3 * Cols), Cols);
            return;
        }
        RowDot.Widen(ByteRow(r0), tile, Cols);
        RowDot.Widen(ByteRow(r1), tile + Cols, Cols);
        RowDot.Widen(other.ByteRow(r2), tile + (2 * Cols), Cols);
        RowDot.Widen(other.ByteRow(r3), tile + (3 * Cols), Cols);
    }

    /// <summary><see cref="Dot4Pair"/> of the rows <see cref="Widen4"/> put in <paramref name="tile"/>: the same sums, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dot4PairWidened(float* tile, int r0, int r1, in WeightMatrix other, int r2, int r3, in RowInput x, in RowInput y,
        out float x0, out float x1, out float x2, out float x3, out float y0, out float y1, out float y2, out float y3) =>
        RowDot.FourPair(tile, tile + Cols, tile + (2 * Cols), tile + (3 * Cols), ScaleRow(r0), ScaleRow(r1), other.ScaleRow(r2), other.ScaleRow(r3),
            x.Values, y.Values, Cols, out x0, out x1, out x2, out x3, out y0, out y1, out y2, out y3);

    /// <summary>Whether <see cref="Dot4Into"/> runs here: Vector512 (and AVX-512 for int8 and int4).</summary>
    public static bool CanAccumulateLanes => Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    /// <summary>
    /// Rows <paramref name="r"/>..r+3 dotted with the input, added lane-wise into the accumulators (reduced by the
    /// caller once, after every term); needs <see cref="CanAccumulateLanes"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dot4Into(int r, in RowInput x, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
    {
        switch (Precision)
        {
            case DecodePrecision.Float32:
                RowDot.FourInto(FloatRow(r), FloatRow(r + 1), FloatRow(r + 2), FloatRow(r + 3), x.Values, Cols, ref a0, ref a1, ref a2, ref a3);
                break;
            case DecodePrecision.BFloat16:
                RowDot.FourInto(HalfRow(r), HalfRow(r + 1), HalfRow(r + 2), HalfRow(r + 3), x.Values, x.Paired, x.PairedLength, Cols,
                    ref a0, ref a1, ref a2, ref a3);
                break;
            case DecodePrecision.Int4:
                RowDot.FourInto(PackedRow(r), PackedRow(r + 1), PackedRow(r + 2), PackedRow(r + 3),
                    ScaleRow(r), ScaleRow(r + 1), ScaleRow(r + 2), ScaleRow(r + 3), x.Values, Cols, ref a0, ref a1, ref a2, ref a3);
                break;
            default:
                RowDot.FourInto(ByteRow(r), ByteRow(r + 1), ByteRow(r + 2), ByteRow(r + 3),
                    ScaleRow(r), ScaleRow(r + 1), ScaleRow(r + 2), ScaleRow(r + 3), x.Values, Cols, ref a0, ref a1, ref a2, ref a3);
                break;
        }
    }

    /// <summary>Row <paramref name="row"/> dotted with the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Dot(int row, in RowInput x) => Precision switch
    {
        DecodePrecision.Float32 => RowDot.One(FloatRow(row), x.Values, Cols),
        DecodePrecision.BFloat16 => RowDot.One(HalfRow(row), x.Values, x.Paired, x.PairedLength, Cols),
        DecodePrecision.Int4 => RowDot.One(PackedRow(row), ScaleRow(row), x.Values, Cols),
        _ => RowDot.One(ByteRow(row), ScaleRow(row), x.Values, Cols),
    };

    /// <summary>Row <paramref name="row"/> of an int8 or int4 matrix as float32 weights, d·q, into <paramref name="into"/> (<see cref="Cols"/> floats).</summary>
    public void WidenRow(int row, float* into)
    {
        float* scales = ScaleRow(row);
        for (int b = 0, c = 0; c < Cols; b++, c += Int8Matrix.BlockSize)
        {
            if (Precision == DecodePrecision.Int4)
            {
                // Byte j of a block: value j in its low four bits, value j + 16 in its high four.
                byte* packed = PackedRow(row) + (c / 2);
                for (int j = 0; j < Int4Matrix.BlockBytes; j++)
                {
                    into[c + j] = scales[b] * ((packed[j] & 15) - 8);
                    into[c + Int4Matrix.BlockBytes + j] = scales[b] * ((packed[j] >> 4) - 8);
                }
                continue;
            }
            sbyte* values = ByteRow(row) + c;
            for (int i = 0; i < Int8Matrix.BlockSize; i++)
            {
                into[c + i] = scales[b] * values[i];
            }
        }
    }

    private float* FloatRow(int row) => (float*)_data + ((nint)row * Cols);

    private ushort* HalfRow(int row) => (ushort*)_data + ((nint)row * Cols);

    private sbyte* ByteRow(int row) => (sbyte*)_data + ((nint)row * Cols);

    private byte* PackedRow(int row) => (byte*)_data + ((nint)row * Cols / 2);

    private float* ScaleRow(int row) => _scales + ((nint)row * (Cols / Int8Matrix.BlockSize));
}

/// <summary>
/// The input vector of a matrix-vector product as the rows read it: x itself, and for bfloat16 rows with Vector512
/// the paired layout of <see cref="RowDot.PairInput"/>. Built once per product, before it is split across threads,
/// in the caller's stack space (<see cref="PairedLengthFor"/> floats): many small products (the experts of a layer)
/// would otherwise pay for the layout once per range.
/// </summary>
internal readonly unsafe struct RowInput
{
    // Widest input paired on the stack (32 KiB); wider inputs (no LLaMA-family width so far) read x directly.
    private const int MaxPairedColumns = 8192;

    public RowInput(float* values, float* paired, int pairedLength)
    {
        Values = values;
        Paired = paired;
        PairedLength = pairedLength;
    }

    public float* Values { get; }

    public float* Paired { get; }

    public int PairedLength { get; }

    /// <summary>
    /// x as the rows of <paramref name="matrix"/> read it, pairing it into <paramref name="buffer"/>
    /// (<see cref="PairedLengthFor"/> floats) where they need it.
    /// </summary>
    public static RowInput For(in WeightMatrix matrix, float* x, float* buffer)
    {
        int paired = PairedLengthFor(matrix);
        RowDot.PairInput(x, paired, buffer);
        return new RowInput(x, buffer, paired);
    }

    /// <summary>Floats of paired input rows of <paramref name="matrix"/> read: zero unless they are bfloat16 and Vector512 runs.</summary>
    public static int PairedLengthFor(in WeightMatrix matrix) =>
        matrix.Precision == DecodePrecision.BFloat16 && Vector512.IsHardwareAccelerated && matrix.Cols <= MaxPairedColumns
            ? matrix.Cols / RowDot.PairedBlock * RowDot.PairedBlock
            : 0;
}
