using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Batch-1 matrix-vector products y = W·x over row-major weights in any <see cref="DecodePrecision"/>, rows split
/// across a <see cref="ComputePool"/>. This is where decode spends its time: each weight is read once per token, so
/// the speed is the memory bandwidth the threads reach, and fewer bytes per weight is faster. The input and output
/// must not overlap the weights.
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>Rows computed together by <see cref="RowDot"/>; pool chunks start at multiples of it.</summary>
    internal const int RowBlock = 4;

    /// <summary>y = W·x.</summary>
    public static void Multiply(ComputePool pool, WeightMatrix weight, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckShape(weight.Rows, weight.Cols, x, y);
        float* paired = stackalloc float[RowInput.PairedLengthFor(weight)];
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new WeightRows(weight, RowInput.For(weight, xp, paired), yp, scale: 0, accumulate: false), weight.Rows, RowBlock);
        }
    }

    /// <summary>y += scale · W·x, for outputs that several terms add into (e.g. Mixture-of-Experts experts).</summary>
    public static void MultiplyAdd(ComputePool pool, WeightMatrix weight, ReadOnlySpan<float> x, float scale, Span<float> y)
    {
        CheckShape(weight.Rows, weight.Cols, x, y);
        float* paired = stackalloc float[RowInput.PairedLengthFor(weight)];
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new WeightRows(weight, RowInput.For(weight, xp, paired), yp, scale, accumulate: true), weight.Rows, RowBlock);
        }
    }

    /// <summary>
    /// y0 = W0·x and y1 = W1·x in one dispatch, for projections that share their input (gate and up).
    /// </summary>
    public static void Multiply(ComputePool pool, ReadOnlySpan<float> x,
        WeightMatrix w0, Span<float> y0, WeightMatrix w1, Span<float> y1)
        => Multiply(pool, x, w0, y0, w1, y1, new FloatMatrix(null, 0, x.Length), []);

    /// <summary>
    /// y0 = W0·x, y1 = W1·x and y2 = W2·x in one dispatch, for projections that share their input
    /// (query, key and value): one pool round-trip instead of three. The three are in one precision, so x is laid out
    /// once for all of them.
    /// </summary>
    public static void Multiply(ComputePool pool, ReadOnlySpan<float> x,
        WeightMatrix w0, Span<float> y0, WeightMatrix w1, Span<float> y1, WeightMatrix w2, Span<float> y2)
    {
        CheckShape(w0.Rows, w0.Cols, x, y0);
        CheckShape(w1.Rows, w1.Cols, x, y1);
        CheckShape(w2.Rows, w2.Cols, x, y2);
        float* paired = stackalloc float[RowInput.PairedLengthFor(w0)];
        fixed (float* xp = x)
        fixed (float* p0 = y0)
        fixed (float* p1 = y1)
        fixed (float* p2 = y2)
        {
            RowInput input = RowInput.For(w0, xp, paired);
            var job = new ConsecutiveRows<WeightRows>(
                new WeightRows(w0, input, p0, 0, false), w0.Rows,
                new WeightRows(w1, input, p1, 0, false), w1.Rows,
                new WeightRows(w2, input, p2, 0, false));
            pool.Run(job, w0.Rows + w1.Rows + w2.Rows, RowBlock);
        }
    }

    internal static void CheckShape(int rows, int cols, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != cols)
        {
            throw new ArgumentException($"The input has {x.Length} elements; the matrix has {cols} columns.", nameof(x));
        }
        if (y.Length != rows)
        {
            throw new ArgumentException($"The output has {y.Length} elements; the matrix has {rows} rows.", nameof(y));
        }
    }

    /// <summary>Rows of one matrix; writes y[r] = W[r]·x, or adds scale · W[r]·x.</summary>
    internal readonly struct WeightRows : IRangeJob
    {
        private readonly WeightMatrix _w;
        private readonly RowInput _x;
        private readonly float* _y;
        private readonly float _scale;
        private readonly bool _accumulate;

        public WeightRows(WeightMatrix weight, RowInput x, float* y, float scale, bool accumulate)
        {
            _w = weight;
            _x = x;
            _y = y;
            _scale = scale;
            _accumulate = accumulate;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            RowInput input = _x;
            int r = start;
            for (; r <= end - RowBlock; r += RowBlock)
            {
                _w.Dot4(r, r + 1, _w, r + 2, r + 3, input, out float s0, out float s1, out float s2, out float s3);
                Store(r, s0);
                Store(r + 1, s1);
                Store(r + 2, s2);
                Store(r + 3, s3);
            }
            for (; r < end; r++)
            {
                Store(r, _w.Dot(r, input));
            }
        }

        private void Store(int row, float dot)
        {
            if (_accumulate)
            {
                _y[row] += _scale * dot;
            }
            else
            {
                _y[row] = dot;
            }
        }
    }

}
