using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Dot products of weight rows with one input vector, the inner loop of every decode matrix-vector
/// product. Four rows at a time: each input vector load feeds four rows, and with two column vectors per step
/// there are eight independent FMA chains, enough to keep loads in flight on a memory-bound loop. Vector512
/// where the hardware has it, else Vector256; a scalar tail covers widths that are not a vector multiple.
/// </summary>
internal static unsafe class RowDot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Four(float* r0, float* r1, float* r2, float* r3, float* x, int cols,
        out float s0, out float s1, out float s2, out float s3)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; c <= cols - 32; c += 32)
            {
                Vector512<float> x0 = Vector512.Load(x + c);
                Vector512<float> x1 = Vector512.Load(x + c + 16);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + c), x0, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + c), x0, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + c), x0, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + c), x0, a3);
                b0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + c + 16), x1, b0);
                b1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + c + 16), x1, b1);
                b2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + c + 16), x1, b2);
                b3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + c + 16), x1, b3);
            }
            if (c <= cols - 16)
            {
                Vector512<float> x0 = Vector512.Load(x + c);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + c), x0, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + c), x0, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + c), x0, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + c), x0, a3);
                c += 16;
            }
            s0 = Vector512.Sum(a0 + b0);
            s1 = Vector512.Sum(a1 + b1);
            s2 = Vector512.Sum(a2 + b2);
            s3 = Vector512.Sum(a3 + b3);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; c <= cols - 16; c += 16)
            {
                Vector256<float> x0 = Vector256.Load(x + c);
                Vector256<float> x1 = Vector256.Load(x + c + 8);
                a0 = Vector256.MultiplyAddEstimate(Vector256.Load(r0 + c), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.Load(r1 + c), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.Load(r2 + c), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.Load(r3 + c), x0, a3);
                b0 = Vector256.MultiplyAddEstimate(Vector256.Load(r0 + c + 8), x1, b0);
                b1 = Vector256.MultiplyAddEstimate(Vector256.Load(r1 + c + 8), x1, b1);
                b2 = Vector256.MultiplyAddEstimate(Vector256.Load(r2 + c + 8), x1, b2);
                b3 = Vector256.MultiplyAddEstimate(Vector256.Load(r3 + c + 8), x1, b3);
            }
            s0 = Vector256.Sum(a0 + b0);
            s1 = Vector256.Sum(a1 + b1);
            s2 = Vector256.Sum(a2 + b2);
            s3 = Vector256.Sum(a3 + b3);
        }
        else
        {
            s0 = s1 = s2 = s3 = 0;
        }
        for (; c < cols; c++)
        {
            float xc = x[c];
            s0 += r0[c] * xc;
            s1 += r1[c] * xc;
            s2 += r2[c] * xc;
            s3 += r3[c] * xc;
        }
    }

    /// <summary>
    /// <see cref="Four(float*, float*, float*, float*, float*, int, out float, out float, out float, out float)"/> of the
    /// same four rows with two inputs, x and y, in one pass: each weight vector is loaded once for both. Every (row,
    /// input) sum takes the same steps as in <c>Four</c>, so the results are bit for bit the same. Vector512 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourPair(float* r0, float* r1, float* r2, float* r3, float* x, float* y, int cols, int nextRows,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s)
    {
        int c = 0;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default;
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (; c <= cols - 32; c += 32)
        {
            PrefetchNextRows(r0, r1, r2, r3, cols, c, nextRows);
            PrefetchNextRows(r0, r1, r2, r3, cols, c + 16, nextRows);
            Vector512<float> xl = Vector512.Load(x + c), xh = Vector512.Load(x + c + 16);
            Vector512<float> yl = Vector512.Load(y + c), yh = Vector512.Load(y + c + 16);
            Vector512<float> w = Vector512.Load(r0 + c);
            a0 = Vector512.FusedMultiplyAdd(w, xl, a0);
            e0 = Vector512.FusedMultiplyAdd(w, yl, e0);
            w = Vector512.Load(r1 + c);
            a1 = Vector512.FusedMultiplyAdd(w, xl, a1);
            e1 = Vector512.FusedMultiplyAdd(w, yl, e1);
            w = Vector512.Load(r2 + c);
            a2 = Vector512.FusedMultiplyAdd(w, xl, a2);
            e2 = Vector512.FusedMultiplyAdd(w, yl, e2);
            w = Vector512.Load(r3 + c);
            a3 = Vector512.FusedMultiplyAdd(w, xl, a3);
            e3 = Vector512.FusedMultiplyAdd(w, yl, e3);
            w = Vector512.Load(r0 + c + 16);
            b0 = Vector512.FusedMultiplyAdd(w, xh, b0);
            f0 = Vector512.FusedMultiplyAdd(w, yh, f0);
            w = Vector512.Load(r1 + c + 16);
            b1 = Vector512.FusedMultiplyAdd(w, xh, b1);
            f1 = Vector512.FusedMultiplyAdd(w, yh, f1);
            w = Vector512.Load(r2 + c + 16);
            b2 = Vector512.FusedMultiplyAdd(w, xh, b2);
            f2 = Vector512.FusedMultiplyAdd(w, yh, f2);
            w = Vector512.Load(r3 + c + 16);
            b3 = Vector512.FusedMultiplyAdd(w, xh, b3);
            f3 = Vector512.FusedMultiplyAdd(w, yh, f3);
        }
        if (c <= cols - 16)
        {
            Vector512<float> xl = Vector512.Load(x + c), yl = Vector512.Load(y + c);
            Vector512<float> w = Vector512.Load(r0 + c);
            a0 = Vector512.FusedMultiplyAdd(w, xl, a0);
            e0 = Vector512.FusedMultiplyAdd(w, yl, e0);
            w = Vector512.Load(r1 + c);
            a1 = Vector512.FusedMultiplyAdd(w, xl, a1);
            e1 = Vector512.FusedMultiplyAdd(w, yl, e1);
            w = Vector512.Load(r2 + c);
            a2 = Vector512.FusedMultiplyAdd(w, xl, a2);
            e2 = Vector512.FusedMultiplyAdd(w, yl, e2);
            w = Vector512.Load(r3 + c);
            a3 = Vector512.FusedMultiplyAdd(w, xl, a3);
            e3 = Vector512.FusedMultiplyAdd(w, yl, e3);
            c += 16;
        }
        x0s = Vector512.Sum(a0 + b0);
        x1s = Vector512.Sum(a1 + b1);
        x2s = Vector512.Sum(a2 + b2);
        x3s = Vector512.Sum(a3 + b3);
        y0s = Vector512.Sum(e0 + f0);
        y1s = Vector512.Sum(e1 + f1);
        y2s = Vector512.Sum(e2 + f2);
        y3s = Vector512.Sum(e3 + f3);
        for (; c < cols; c++)
        {
            float xc = x[c];
            x0s += r0[c] * xc;
            x1s += r1[c] * xc;
            x2s += r2[c] * xc;
            x3s += r3[c] * xc;
            float yc = y[c];
            y0s += r0[c] * yc;
            y1s += r1[c] * yc;
            y2s += r2[c] * yc;
            y3s += r3[c] * yc;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float One(float* r, float* x, int cols)
    {
        int c = 0;
        float s = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = default, b = default;
            for (; c <= cols - 32; c += 32)
            {
                a = Vector512.FusedMultiplyAdd(Vector512.Load(r + c), Vector512.Load(x + c), a);
                b = Vector512.FusedMultiplyAdd(Vector512.Load(r + c + 16), Vector512.Load(x + c + 16), b);
            }
            if (c <= cols - 16)
            {
                a = Vector512.FusedMultiplyAdd(Vector512.Load(r + c), Vector512.Load(x + c), a);
                c += 16;
            }
            s = Vector512.Sum(a + b);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = default;
            for (; c <= cols - 8; c += 8)
            {
                a = Vector256.MultiplyAddEstimate(Vector256.Load(r + c), Vector256.Load(x + c), a);
            }
            s = Vector256.Sum(a);
        }
        for (; c < cols; c++)
        {
            s += r[c] * x[c];
        }
        return s;
    }

    /// <summary>
    /// Columns per block of the paired input layout the Vector512 bfloat16 loop reads (see <see cref="PairInput"/>).
    /// </summary>
    public const int PairedBlock = 32;

    /// <summary>
    /// Reorders the first <paramref name="paired"/> elements of x so that each block of 32 columns holds its 16
    /// even columns, then its 16 odd ones. Read as 32-bit lanes, a bfloat16 row holds an even column in the low
    /// half and an odd one in the high half: a shift and a mask turn them into floats, cheaper than widening.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PairInput(float* x, int paired, float* pairedX)
    {
        for (int block = 0; block < paired; block += PairedBlock)
        {
            for (int j = 0; j < PairedBlock / 2; j++)
            {
                pairedX[block + j] = x[block + (2 * j)];
                pairedX[block + (PairedBlock / 2) + j] = x[block + (2 * j) + 1];
            }
        }
    }

    /// <summary>
    /// Four bfloat16 rows: a bfloat16 is the upper half of a float32, so moving it there is exact. With
    /// Vector512, the first <paramref name="paired"/> columns (a multiple of <see cref="PairedBlock"/>) read
    /// <paramref name="pairedX"/>, laid out by <see cref="PairInput"/>; the rest read <paramref name="x"/>; the rows are
    /// read one after another (see <see cref="Row"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Four(ushort* r0, ushort* r1, ushort* r2, ushort* r3, float* x, float* pairedX, int paired, int cols,
        out float s0, out float s1, out float s2, out float s3)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            s0 = Row(r0, x, pairedX, paired, cols);
            s1 = Row(r1, x, pairedX, paired, cols);
            s2 = Row(r2, x, pairedX, paired, cols);
            s3 = Row(r3, x, pairedX, paired, cols);
            return;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; c <= cols - 16; c += 16)
            {
                Vector256<float> x0 = Vector256.Load(x + c);
                Vector256<float> x1 = Vector256.Load(x + c + 8);
                Vector256<ushort> w0 = Vector256.Load(r0 + c);
                Vector256<ushort> w1 = Vector256.Load(r1 + c);
                Vector256<ushort> w2 = Vector256.Load(r2 + c);
                Vector256<ushort> w3 = Vector256.Load(r3 + c);
                a0 = Vector256.MultiplyAddEstimate(Low(w0), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Low(w1), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Low(w2), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Low(w3), x0, a3);
                b0 = Vector256.MultiplyAddEstimate(High(w0), x1, b0);
                b1 = Vector256.MultiplyAddEstimate(High(w1), x1, b1);
                b2 = Vector256.MultiplyAddEstimate(High(w2), x1, b2);
                b3 = Vector256.MultiplyAddEstimate(High(w3), x1, b3);
            }
            s0 = Vector256.Sum(a0 + b0);
            s1 = Vector256.Sum(a1 + b1);
            s2 = Vector256.Sum(a2 + b2);
            s3 = Vector256.Sum(a3 + b3);
        }
        else
        {
            s0 = s1 = s2 = s3 = 0;
        }
        for (; c < cols; c++)
        {
            float xc = x[c];
            s0 += ToSingle(r0[c]) * xc;
            s1 += ToSingle(r1[c]) * xc;
            s2 += ToSingle(r2[c]) * xc;
            s3 += ToSingle(r3[c]) * xc;
        }
    }

    /// <summary>
    /// The bfloat16 <c>Four</c> of the same four rows with two inputs (each paired as <c>Four</c> reads it): each row
    /// block is loaded once for both, and every (row, input) sum takes the same steps as in <c>Four</c>, so the results
    /// are bit for bit the same. Needs Vector512.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourPair(ushort* r0, ushort* r1, ushort* r2, ushort* r3, float* x, float* pairedX, float* y, float* pairedY, int paired, int cols, int nextRows,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        Vector512<uint> high = Vector512.Create(0xFFFF0000u);
        int c = 0;
        for (; c < paired; c += PairedBlock)
        {
            PrefetchNextRows(r0, r1, r2, r3, cols, c, nextRows);
            Vector512<float> xe = Vector512.Load(pairedX + c), xo = Vector512.Load(pairedX + c + 16);
            Vector512<float> ye = Vector512.Load(pairedY + c), yo = Vector512.Load(pairedY + c + 16);
            PairRow(Vector512.Load(r0 + c).AsUInt32(), high, xe, xo, ye, yo, ref a0, ref b0, ref c0, ref d0);
            PairRow(Vector512.Load(r1 + c).AsUInt32(), high, xe, xo, ye, yo, ref a1, ref b1, ref c1, ref d1);
            PairRow(Vector512.Load(r2 + c).AsUInt32(), high, xe, xo, ye, yo, ref a2, ref b2, ref c2, ref d2);
            PairRow(Vector512.Load(r3 + c).AsUInt32(), high, xe, xo, ye, yo, ref a3, ref b3, ref c3, ref d3);
        }
        x0s = Vector512.Sum(a0 + b0);
        x1s = Vector512.Sum(a1 + b1);
        x2s = Vector512.Sum(a2 + b2);
        x3s = Vector512.Sum(a3 + b3);
        y0s = Vector512.Sum(c0 + d0);
        y1s = Vector512.Sum(c1 + d1);
        y2s = Vector512.Sum(c2 + d2);
        y3s = Vector512.Sum(c3 + d3);
        for (; c < cols; c++)
        {
            float xc = x[c], yc = y[c];
            float w0 = ToSingle(r0[c]), w1 = ToSingle(r1[c]), w2 = ToSingle(r2[c]), w3 = ToSingle(r3[c]);
            x0s += w0 * xc;
            x1s += w1 * xc;
            x2s += w2 * xc;
            x3s += w3 * xc;
            y0s += w0 * yc;
            y1s += w1 * yc;
            y2s += w2 * yc;
            y3s += w3 * yc;
        }
    }

    // One row block of 32 bfloat16 (even values in the low halves, odd in the high) against two paired inputs.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairRow(Vector512<uint> w, Vector512<uint> high, Vector512<float> xe, Vector512<float> xo, Vector512<float> ye, Vector512<float> yo,
        ref Vector512<float> ax, ref Vector512<float> bx, ref Vector512<float> ay, ref Vector512<float> by)
    {
        Vector512<float> even = Vector512.ShiftLeft(w, 16).AsSingle(), odd = (w & high).AsSingle();
        ax = Vector512.FusedMultiplyAdd(even, xe, ax);
        bx = Vector512.FusedMultiplyAdd(odd, xo, bx);
        ay = Vector512.FusedMultiplyAdd(even, ye, ay);
        by = Vector512.FusedMultiplyAdd(odd, yo, by);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float One(ushort* r, float* x, float* pairedX, int paired, int cols)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return Row(r, x, pairedX, paired, cols);
        }
        // The same row four times: the repeats hit L1, and this path only runs for the last rows of a range.
        Four(r, r, r, r, x, pairedX, paired, cols, out float s, out _, out _, out _);
        return s;
    }

    // How far along a bfloat16 row (and on into the next) Row asks for lines: 2 KiB. A past-the-end address is only a hint.
    private const int RowAhead = 1024;

    /// <summary>
    /// One bfloat16 row with Vector512, as <see cref="Four(ushort*, ushort*, ushort*, ushort*, float*, float*, int, int, out float, out float, out float, out float)"/>
    /// reads it: even columns into one accumulator, odd into another, then the columns past <paramref name="paired"/>.
    /// Each row is summed in the same order as when four rows were read side by side (and as the paired kernels sum it),
    /// so the results are the same bit for bit.
    /// </summary>
    /// <remarks>
    /// Rows are read one after another, each asking for the line 2 KiB on with a non-temporal prefetch: a block of rows
    /// is then one forward stream instead of four, which a core keeps more requests in flight for. Measured on the 1B
    /// decode held in bfloat16, kernel variants alternated step by step in one process (per-step ratios over float32,
    /// three runs each): four rows side by side with L1 prefetches a block ahead 1.83×, 1.98×, 1.92×; one row at a time
    /// with no prefetch 1.20–1.68×; non-temporal, four rows ahead 1.91×, 2.05×, 2.01× (and 1.80–1.82× in a later,
    /// slower state, where one row ahead read 1.88–1.95×); 2 KiB ahead against one row, 1 KiB and 8 KiB: 1.92, 1.94,
    /// 1.90× against 1.88, 1.89, 1.80× (the others between). Prefetching into L2 did no better than into L1.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Row(ushort* r, float* x, float* pairedX, int paired, int cols)
    {
        Vector512<float> even = default, odd = default;
        Vector512<uint> high = Vector512.Create(0xFFFF0000u);
        for (int c = 0; c < paired; c += PairedBlock)
        {
            Sse.PrefetchNonTemporal(r + RowAhead + c);
            Vector512<uint> w = Vector512.Load(r + c).AsUInt32();
            even = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(w, 16).AsSingle(), Vector512.Load(pairedX + c), even);
            odd = Vector512.FusedMultiplyAdd((w & high).AsSingle(), Vector512.Load(pairedX + c + 16), odd);
        }
        float s = Vector512.Sum(even + odd);
        for (int c = paired; c < cols; c++)
        {
            s += ToSingle(r[c]) * x[c];
        }
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bfloat16) => BitConverter.UInt32BitsToSingle((uint)bfloat16 << 16);

    /// <summary>
    /// Four int8 rows with their block scales (see <see cref="Int8Matrix"/>; <paramref name="cols"/> is a multiple of its
    /// block size): per block the int8 values widen to float and meet x in float (x is not quantized), and the block's
    /// sum is scaled into the row's accumulator.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Four(sbyte* r0, sbyte* r1, sbyte* r2, sbyte* r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        out float s0, out float s1, out float s2, out float s3)
    {
        int blocks = cols / Int8Matrix.BlockSize;
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            // The next rows' lines, as the bfloat16 loop asks for them (measured: 1B decode 1.58× → 2.4× float32's).
            FourBlocks(new QuantizedRow(r0, cols), new QuantizedRow(r1, cols), new QuantizedRow(r2, cols), new QuantizedRow(r3, cols),
                d0, d1, d2, d3, x, cols, out s0, out s1, out s2, out s3);
        }
        else if (Avx2.IsSupported)
        {
            FourBlocks256(new QuantizedRow(r0, cols), new QuantizedRow(r1, cols), new QuantizedRow(r2, cols), new QuantizedRow(r3, cols),
                d0, d1, d2, d3, x, cols, out s0, out s1, out s2, out s3);
        }
        else
        {
            s0 = BlockSums(r0, d0, x, blocks);
            s1 = BlockSums(r1, d1, x, blocks);
            s2 = BlockSums(r2, d2, x, blocks);
            s3 = BlockSums(r3, d3, x, blocks);
        }
    }

    /// <summary>
    /// Four int4 rows (see <see cref="Int4Matrix"/>; <paramref name="cols"/> is a multiple of the block size): each block
    /// unpacked to the floats q − 8 and summed as an int8 block is, so an int4 row computes what an int8 row holding the
    /// same values would. AVX-512, AVX2, else one value at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Four(byte* r0, byte* r1, byte* r2, byte* r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        out float s0, out float s1, out float s2, out float s3)
    {
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            FourBlocks(new PackedRow(r0, cols), new PackedRow(r1, cols), new PackedRow(r2, cols), new PackedRow(r3, cols),
                d0, d1, d2, d3, x, cols, out s0, out s1, out s2, out s3);
            return;
        }
        if (Avx2.IsSupported)
        {
            FourBlocks256(new PackedRow(r0, cols), new PackedRow(r1, cols), new PackedRow(r2, cols), new PackedRow(r3, cols),
                d0, d1, d2, d3, x, cols, out s0, out s1, out s2, out s3);
            return;
        }
        int blocks = cols / Int8Matrix.BlockSize;
        s0 = PackedBlockSums(r0, d0, x, blocks);
        s1 = PackedBlockSums(r1, d1, x, blocks);
        s2 = PackedBlockSums(r2, d2, x, blocks);
        s3 = PackedBlockSums(r3, d3, x, blocks);
    }

    /// <summary>The int4 <c>Four</c> of the same rows with two inputs: each block unpacked once for both, the same sums bit for bit. Needs AVX-512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourPair(byte* r0, byte* r1, byte* r2, byte* r3, float* d0, float* d1, float* d2, float* d3, float* x, float* y, int cols, int nextRows,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s) =>
        FourPair(new PackedRow(r0, cols), new PackedRow(r1, cols), new PackedRow(r2, cols), new PackedRow(r3, cols), d0, d1, d2, d3, x, y, cols, nextRows,
            out x0s, out x1s, out x2s, out x3s, out y0s, out y1s, out y2s, out y3s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float One(byte* r, float* d, float* x, int cols)
    {
        // The same row four times: the repeats hit L1, and this path only runs for the last rows of a range.
        Four(r, r, r, r, d, d, d, d, x, cols, out float s, out _, out _, out _);
        return s;
    }

    // Four rows of blocks (int8 in place, int4 unpacked) against one input: per block the 32 values as floats meet x,
    // then the block's scale.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourBlocks<TRow>(TRow r0, TRow r1, TRow r2, TRow r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        out float s0, out float s1, out float s2, out float s3)
        where TRow : struct, IBlockRow
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        FourBlocksInto(r0, r1, r2, r3, d0, d1, d2, d3, x, cols, ref a0, ref a1, ref a2, ref a3);
        s0 = Vector512.Sum(a0);
        s1 = Vector512.Sum(a1);
        s2 = Vector512.Sum(a2);
        s3 = Vector512.Sum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourBlocksInto<TRow>(TRow r0, TRow r1, TRow r2, TRow r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        where TRow : struct, IBlockRow
    {
        int blocks = cols / Int8Matrix.BlockSize;
        for (int b = 0, c = 0; b < blocks; b++, c += Int8Matrix.BlockSize)
        {
            r0.Prefetch(c);
            r1.Prefetch(c);
            r2.Prefetch(c);
            r3.Prefetch(c);
            Vector512<float> x0 = Vector512.Load(x + c);
            Vector512<float> x1 = Vector512.Load(x + c + 16);
            a0 = Vector512.FusedMultiplyAdd(BlockSum(r0, c, x0, x1), Vector512.Create(d0[b]), a0);
            a1 = Vector512.FusedMultiplyAdd(BlockSum(r1, c, x0, x1), Vector512.Create(d1[b]), a1);
            a2 = Vector512.FusedMultiplyAdd(BlockSum(r2, c, x0, x1), Vector512.Create(d2[b]), a2);
            a3 = Vector512.FusedMultiplyAdd(BlockSum(r3, c, x0, x1), Vector512.Create(d3[b]), a3);
        }
    }

    // The same with 8-lane vectors (AVX2 without AVX-512), each block's sum from the row's own reader.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourBlocks256<TRow>(TRow r0, TRow r1, TRow r2, TRow r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        out float s0, out float s1, out float s2, out float s3)
        where TRow : struct, IBlockRow256
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int blocks = cols / Int8Matrix.BlockSize;
        for (int b = 0, c = 0; b < blocks; b++, c += Int8Matrix.BlockSize)
        {
            a0 = Vector256.MultiplyAddEstimate(r0.BlockSum256(c, x + c), Vector256.Create(d0[b]), a0);
            a1 = Vector256.MultiplyAddEstimate(r1.BlockSum256(c, x + c), Vector256.Create(d1[b]), a1);
            a2 = Vector256.MultiplyAddEstimate(r2.BlockSum256(c, x + c), Vector256.Create(d2[b]), a2);
            a3 = Vector256.MultiplyAddEstimate(r3.BlockSum256(c, x + c), Vector256.Create(d3[b]), a3);
        }
        s0 = Vector256.Sum(a0);
        s1 = Vector256.Sum(a1);
        s2 = Vector256.Sum(a2);
        s3 = Vector256.Sum(a3);
    }

    // A block's 32 values against 32 floats of x, as 16-lane float vectors: lane sums of q·x.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BlockSum<TRow>(TRow row, int c, Vector512<float> x0, Vector512<float> x1)
        where TRow : struct, IBlockRow
    {
        row.Block(c, out Vector512<float> low, out Vector512<float> high);
        return Vector512.FusedMultiplyAdd(high, x1, low * x0);
    }

    /// <summary>
    /// The int8 <c>Four</c> of the same four rows with two inputs, x and y: each block is widened to float once for both.
    /// Every (row, input) sum takes the same steps as in <c>Four</c>, so the results are bit for bit the same. Needs AVX-512.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourPair(sbyte* r0, sbyte* r1, sbyte* r2, sbyte* r3, float* d0, float* d1, float* d2, float* d3, float* x, float* y, int cols, int nextRows,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s) =>
        FourPair(new QuantizedRow(r0, cols), new QuantizedRow(r1, cols), new QuantizedRow(r2, cols), new QuantizedRow(r3, cols), d0, d1, d2, d3, x, y, cols, nextRows,
            out x0s, out x1s, out x2s, out x3s, out y0s, out y1s, out y2s, out y3s);

    /// <summary>
    /// The int8 <see cref="FourPair(sbyte*, sbyte*, sbyte*, sbyte*, float*, float*, float*, float*, float*, float*, int, int, out float, out float, out float, out float, out float, out float, out float, out float)"/>
    /// on rows already widened to float by <see cref="Widen(sbyte*, float*, int)"/> (or, for int4, <see cref="Widen(byte*, float*, int)"/>) (the values q, exact; scales not applied): the same
    /// steps on the same numbers, so the same sums bit for bit, without widening the block again for every pair of inputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourPair(float* q0, float* q1, float* q2, float* q3, float* d0, float* d1, float* d2, float* d3, float* x, float* y, int cols,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s) =>
        FourPair(new WidenedRow(q0), new WidenedRow(q1), new WidenedRow(q2), new WidenedRow(q3), d0, d1, d2, d3, x, y, cols, 0,
            out x0s, out x1s, out x2s, out x3s, out y0s, out y1s, out y2s, out y3s);

    // Both int8 FourPairs: per block, each row's 32 values as floats meet both inputs, then the block's scale.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourPair<TRow>(TRow r0, TRow r1, TRow r2, TRow r3, float* d0, float* d1, float* d2, float* d3, float* x, float* y, int cols, int nextRows,
        out float x0s, out float x1s, out float x2s, out float x3s, out float y0s, out float y1s, out float y2s, out float y3s)
        where TRow : struct, IBlockRow
    {
        int blocks = cols / Int8Matrix.BlockSize;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default;
        for (int b = 0, c = 0; b < blocks; b++, c += Int8Matrix.BlockSize)
        {
            if ((nextRows & 1) != 0)
            {
                r0.Prefetch(c);
            }
            if ((nextRows & 2) != 0)
            {
                r1.Prefetch(c);
            }
            if ((nextRows & 4) != 0)
            {
                r2.Prefetch(c);
            }
            if ((nextRows & 8) != 0)
            {
                r3.Prefetch(c);
            }
            Vector512<float> xl = Vector512.Load(x + c), xh = Vector512.Load(x + c + 16);
            Vector512<float> yl = Vector512.Load(y + c), yh = Vector512.Load(y + c + 16);
            PairBlock(r0, c, d0[b], xl, xh, yl, yh, ref a0, ref e0);
            PairBlock(r1, c, d1[b], xl, xh, yl, yh, ref a1, ref e1);
            PairBlock(r2, c, d2[b], xl, xh, yl, yh, ref a2, ref e2);
            PairBlock(r3, c, d3[b], xl, xh, yl, yh, ref a3, ref e3);
        }
        x0s = Vector512.Sum(a0);
        x1s = Vector512.Sum(a1);
        x2s = Vector512.Sum(a2);
        x3s = Vector512.Sum(a3);
        y0s = Vector512.Sum(e0);
        y1s = Vector512.Sum(e1);
        y2s = Vector512.Sum(e2);
        y3s = Vector512.Sum(e3);
    }

    // One block (low and high 16 values as floats) against two inputs.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairBlock<TRow>(TRow row, int c, float scale, Vector512<float> xl, Vector512<float> xh, Vector512<float> yl, Vector512<float> yh,
        ref Vector512<float> a, ref Vector512<float> e)
        where TRow : struct, IBlockRow
    {
        row.Block(c, out Vector512<float> low, out Vector512<float> high);
        Vector512<float> d = Vector512.Create(scale);
        a = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(high, xh, low * xl), d, a);
        e = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(high, yh, low * yl), d, e);
    }

    /// <summary>A row of 32-value blocks (int8, int4, or either widened) as the block kernels read it.</summary>
    private interface IBlockRow
    {
        /// <summary>Asks for the line that the row four on reads at column <paramref name="c"/>, where the row is read in place.</summary>
        void Prefetch(int c);

        /// <summary>The block at column <paramref name="c"/>: its first and last 16 values as floats (scale not applied).</summary>
        void Block(int c, out Vector512<float> low, out Vector512<float> high);
    }

    /// <summary>A row of blocks in place as the 8-lane kernel reads it (AVX2 without AVX-512).</summary>
    private interface IBlockRow256
    {
        /// <summary>The block at column <paramref name="c"/> against <paramref name="x"/> (its 32 floats): lane sums of q·x.</summary>
        Vector256<float> BlockSum256(int c, float* x);
    }

    /// <summary>An int8 row in place, each block widened as it is read; asks for the line four rows on, as the loops above do.</summary>
    private readonly struct QuantizedRow(sbyte* q, int cols) : IBlockRow, IBlockRow256
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> BlockSum256(int c, float* x) => Block256(q + c, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int c) => Sse.Prefetch0(q + ((nint)cols * MatVec.RowBlock) + c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Block(int c, out Vector512<float> low, out Vector512<float> high)
        {
            low = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + c)));
            high = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + c + 16)));
        }
    }

    /// <summary>
    /// An int4 row in place (16 bytes a block: value j in the low four bits of byte j, value j + 16 in the high four);
    /// asks for the line four rows on once per 64 bytes of the row, the line it reads.
    /// </summary>
    private readonly struct PackedRow(byte* q, int cols) : IBlockRow, IBlockRow256
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> BlockSum256(int c, float* x) => PackedBlock256(q + (c / 2), x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int c)
        {
            if ((c & 127) == 0)
            {
                Sse.Prefetch0(q + ((nint)cols / 2 * MatVec.RowBlock) + (c / 2));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Block(int c, out Vector512<float> low, out Vector512<float> high)
        {
            Vector512<int> packed = Avx512F.ConvertToVector512Int32(Vector128.Load(q + (c / 2)));
            // q − 8 as a float is a lookup: a lane permute reads only the low four bits of its index, so the low values
            // need no mask, and the lookup replaces a subtraction and a conversion (int4 decode is compute-bound: the
            // lookup measured 1.13–1.15× the converting loop on the 110M shape, 1.08× on the 1B).
            Vector512<float> values = Vector512.Create(-8f, -7f, -6f, -5f, -4f, -3f, -2f, -1f, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);
            low = Avx512F.PermuteVar16x32(values, packed);
            high = Avx512F.PermuteVar16x32(values, Vector512.ShiftRightLogical(packed, 4));
        }
    }

    /// <summary>A row widened beforehand (<see cref="Widen(sbyte*, float*, int)"/>), in cache: nothing to ask for.</summary>
    private readonly struct WidenedRow(float* q) : IBlockRow
    {
        public void Prefetch(int c)
        {
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Block(int c, out Vector512<float> low, out Vector512<float> high)
        {
            low = Vector512.Load(q + c);
            high = Vector512.Load(q + c + 16);
        }
    }

    /// <summary>The int8 values of a row as floats (exact), for the <c>FourPair</c> of widened rows; needs AVX-512.</summary>
    public static void Widen(sbyte* q, float* into, int cols) => Widen(new QuantizedRow(q, cols), into, cols);

    /// <summary>The int4 values q − 8 of a row as floats (exact), as <see cref="Widen(sbyte*, float*, int)"/>; needs AVX-512.</summary>
    public static void Widen(byte* q, float* into, int cols) => Widen(new PackedRow(q, cols), into, cols);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen<TRow>(TRow row, float* into, int cols)
        where TRow : struct, IBlockRow
    {
        for (int c = 0; c < cols; c += Int8Matrix.BlockSize)
        {
            // The row four on, which the next block widens: as the paired loops ask for it, once per 64 values.
            if ((c & 63) == 0)
            {
                row.Prefetch(c);
            }
            row.Block(c, out Vector512<float> low, out Vector512<float> high);
            low.Store(into + c);
            high.Store(into + c + 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float One(sbyte* r, float* d, float* x, int cols)
    {
        // The same row four times: the repeats hit L1, and this path only runs for the last rows of a range.
        Four(r, r, r, r, d, d, d, d, x, cols, out float s, out _, out _, out _);
        return s;
    }

    // The same with 8-lane vectors, four per block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(sbyte* q, float* x)
    {
        Vector256<float> sum = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q)) * Vector256.Load(x);
        sum = Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 8)), Vector256.Load(x + 8), sum);
        sum = Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 16)), Vector256.Load(x + 16), sum);
        return Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 24)), Vector256.Load(x + 24), sum);
    }

    // An int4 block (16 bytes) against 32 floats of x with 8-lane vectors: bytes 0–7 and 8–15 hold values 0–15 in their
    // low four bits and 16–31 in their high four.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PackedBlock256(byte* q, float* x)
    {
        Vector256<int> first = Avx2.ConvertToVector256Int32(q), second = Avx2.ConvertToVector256Int32(q + 8);
        Vector256<int> mask = Vector256.Create(15), offset = Vector256.Create(8);
        Vector256<float> sum = Avx.ConvertToVector256Single((first & mask) - offset) * Vector256.Load(x);
        sum = Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single((second & mask) - offset), Vector256.Load(x + 8), sum);
        sum = Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(first, 4) - offset), Vector256.Load(x + 16), sum);
        return Vector256.MultiplyAddEstimate(Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(second, 4) - offset), Vector256.Load(x + 24), sum);
    }

    private static float BlockSums(sbyte* q, float* d, float* x, int blocks)
    {
        float total = 0;
        for (int b = 0, c = 0; b < blocks; b++, c += Int8Matrix.BlockSize)
        {
            float block = 0;
            for (int i = 0; i < Int8Matrix.BlockSize; i++)
            {
                block += q[c + i] * x[c + i];
            }
            total += d[b] * block;
        }
        return total;
    }

    private static float PackedBlockSums(byte* q, float* d, float* x, int blocks)
    {
        float total = 0;
        for (int b = 0, c = 0; b < blocks; b++, c += Int8Matrix.BlockSize)
        {
            float block = 0;
            for (int i = 0; i < Int4Matrix.BlockBytes; i++)
            {
                byte packed = q[(c / 2) + i];
                block += ((packed & 15) - 8) * x[c + i];
                block += ((packed >> 4) - 8) * x[c + Int4Matrix.BlockBytes + i];
            }
            total += d[b] * block;
        }
        return total;
    }

    /// <summary>
    /// Four float32 rows dotted with x, added lane-wise into the accumulators instead of summed: products that continue
    /// across several short rows (one output row over many small experts) reduce once at the end, not once per row.
    /// Vector512 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourInto(float* r0, float* r1, float* r2, float* r3, float* x, int cols,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
    {
        int c = 0;
        for (; c <= cols - 16; c += 16)
        {
            PrefetchNextRows(r0, r1, r2, r3, cols, c);
            Vector512<float> xc = Vector512.Load(x + c);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + c), xc, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + c), xc, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + c), xc, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + c), xc, a3);
        }
        if (c < cols)
        {
            float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (; c < cols; c++)
            {
                t0 += r0[c] * x[c];
                t1 += r1[c] * x[c];
                t2 += r2[c] * x[c];
                t3 += r3[c] * x[c];
            }
            a0 += Vector512.CreateScalar(t0);
            a1 += Vector512.CreateScalar(t1);
            a2 += Vector512.CreateScalar(t2);
            a3 += Vector512.CreateScalar(t3);
        }
    }

    /// <summary>The bfloat16 form of <see cref="FourInto(float*, float*, float*, float*, float*, int, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>, reading the paired input as <see cref="Four(ushort*, ushort*, ushort*, ushort*, float*, float*, int, int, out float, out float, out float, out float)"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourInto(ushort* r0, ushort* r1, ushort* r2, ushort* r3, float* x, float* pairedX, int paired, int cols,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
    {
        Vector512<uint> high = Vector512.Create(0xFFFF0000u);
        int c = 0;
        for (; c < paired; c += PairedBlock)
        {
            PrefetchNextRows(r0, r1, r2, r3, cols, c);
            Vector512<float> even = Vector512.Load(pairedX + c);
            Vector512<float> odd = Vector512.Load(pairedX + c + 16);
            Vector512<uint> w0 = Vector512.Load(r0 + c).AsUInt32();
            Vector512<uint> w1 = Vector512.Load(r1 + c).AsUInt32();
            Vector512<uint> w2 = Vector512.Load(r2 + c).AsUInt32();
            Vector512<uint> w3 = Vector512.Load(r3 + c).AsUInt32();
            a0 = Vector512.FusedMultiplyAdd((w0 & high).AsSingle(), odd, Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(w0, 16).AsSingle(), even, a0));
            a1 = Vector512.FusedMultiplyAdd((w1 & high).AsSingle(), odd, Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(w1, 16).AsSingle(), even, a1));
            a2 = Vector512.FusedMultiplyAdd((w2 & high).AsSingle(), odd, Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(w2, 16).AsSingle(), even, a2));
            a3 = Vector512.FusedMultiplyAdd((w3 & high).AsSingle(), odd, Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(w3, 16).AsSingle(), even, a3));
        }
        // Sixteen columns left (rows of 16- or 48-neuron experts): widened in one step, not a column at a time.
        if (c <= cols - 16)
        {
            Vector512<float> xc = Vector512.Load(x + c);
            a0 = Vector512.FusedMultiplyAdd(Widen16(r0 + c), xc, a0);
            a1 = Vector512.FusedMultiplyAdd(Widen16(r1 + c), xc, a1);
            a2 = Vector512.FusedMultiplyAdd(Widen16(r2 + c), xc, a2);
            a3 = Vector512.FusedMultiplyAdd(Widen16(r3 + c), xc, a3);
            c += 16;
        }
        if (c < cols)
        {
            float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (; c < cols; c++)
            {
                t0 += ToSingle(r0[c]) * x[c];
                t1 += ToSingle(r1[c]) * x[c];
                t2 += ToSingle(r2[c]) * x[c];
                t3 += ToSingle(r3[c]) * x[c];
            }
            a0 += Vector512.CreateScalar(t0);
            a1 += Vector512.CreateScalar(t1);
            a2 += Vector512.CreateScalar(t2);
            a3 += Vector512.CreateScalar(t3);
        }
    }

    /// <summary>The int8 form (whole blocks, as <see cref="Four(sbyte*, sbyte*, sbyte*, sbyte*, float*, float*, float*, float*, float*, int, out float, out float, out float, out float)"/>); needs AVX-512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourInto(sbyte* r0, sbyte* r1, sbyte* r2, sbyte* r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3) =>
        FourBlocksInto(new QuantizedRow(r0, cols), new QuantizedRow(r1, cols), new QuantizedRow(r2, cols), new QuantizedRow(r3, cols),
            d0, d1, d2, d3, x, cols, ref a0, ref a1, ref a2, ref a3);

    /// <summary>The int4 form (whole blocks, as the int4 <c>Four</c>); needs AVX-512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FourInto(byte* r0, byte* r1, byte* r2, byte* r3, float* d0, float* d1, float* d2, float* d3, float* x, int cols,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3) =>
        FourBlocksInto(new PackedRow(r0, cols), new PackedRow(r1, cols), new PackedRow(r2, cols), new PackedRow(r3, cols),
            d0, d1, d2, d3, x, cols, ref a0, ref a1, ref a2, ref a3);

    // Asks for the cache line at column c four rows further on in each row's matrix, which a range's next block of rows
    // reads: short rows are streams the hardware prefetcher ramps up on too late. A prefetch past a matrix's end is only
    // a hint, never a fault.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchNextRows<T>(T* r0, T* r1, T* r2, T* r3, int cols, int c, int rows = AllNextRows)
        where T : unmanaged
    {
        nint at = ((nint)cols * MatVec.RowBlock) + c;
        if ((rows & 1) != 0)
        {
            Sse.Prefetch0(r0 + at);
        }
        if ((rows & 2) != 0)
        {
            Sse.Prefetch0(r1 + at);
        }
        if ((rows & 4) != 0)
        {
            Sse.Prefetch0(r2 + at);
        }
        if ((rows & 8) != 0)
        {
            Sse.Prefetch0(r3 + at);
        }
    }

    /// <summary>Every one of a block's four next rows (bit i: row i), as a single-input pass asks for them.</summary>
    public const int AllNextRows = 0b1111;

    /// <summary>
    /// Which of the next block's four rows pass <paramref name="pass"/> of <paramref name="passes"/> over the same block
    /// asks for (bit i: row i). A step of several inputs reads a block once per pair of inputs; asking for the whole next
    /// block in every pass repeated the first pass's requests, and those cost as much as the arithmetic once the rows are
    /// in cache. Spread over the passes, each line is asked for once and memory is kept busy through the whole block.
    /// Measured, eight inputs against a 2,048 × 768 float32 matrix streamed from memory: 285–354 → 237–264 µs (one
    /// input: 123–154 µs); asking two blocks ahead, or only in the first pass, measured between the two.
    /// </summary>
    public static int NextRowsFor(int pass, int passes)
    {
        int perPass = passes >= MatVec.RowBlock ? 1 : passes >= 2 ? 2 : MatVec.RowBlock;
        int first = pass * perPass;
        return first >= MatVec.RowBlock ? 0 : ((1 << perPass) - 1) << first;
    }

    // 16 bfloat16 values as floats: each moved to the upper half of a 32-bit lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen16(ushort* w) => Vector512.ShiftLeft(Avx512F.ConvertToVector512UInt32(Vector256.Load(w)), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Low(Vector256<ushort> w) => Vector256.ShiftLeft(Vector256.WidenLower(w), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> High(Vector256<ushort> w) => Vector256.ShiftLeft(Vector256.WidenUpper(w), 16).AsSingle();
}
