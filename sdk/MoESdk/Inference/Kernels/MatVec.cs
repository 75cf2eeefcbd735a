using System.Runtime.Intrinsics;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Batch-1 matrix-vector products y = W·x over row-major weights, rows split across a <see cref="ComputePool"/>.
/// This is where decode spends its time: each weight is read once per token, so the speed is the memory
/// bandwidth the threads reach. The input and output must not overlap the weights.
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>Rows computed together by <see cref="RowDot"/>; pool chunks start at multiples of it.</summary>
    internal const int RowBlock = 4;

    /// <summary>y = W·x.</summary>
    public static void Multiply(ComputePool pool, FloatMatrix weight, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckShape(weight.Rows, weight.Cols, x, y);
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new FloatRows(weight, xp, yp, scale: 0, accumulate: false), weight.Rows, RowBlock);
        }
    }

    /// <summary>y += scale · W·x, for outputs that several terms add into (e.g. Mixture-of-Experts experts).</summary>
    public static void MultiplyAdd(ComputePool pool, FloatMatrix weight, ReadOnlySpan<float> x, float scale, Span<float> y)
    {
        CheckShape(weight.Rows, weight.Cols, x, y);
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new FloatRows(weight, xp, yp, scale, accumulate: true), weight.Rows, RowBlock);
        }
    }

    /// <summary>y = W·x with bfloat16 weights: half the bytes of float32, at bfloat16 weight precision.</summary>
    public static void Multiply(ComputePool pool, BFloat16Matrix weight, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckShape(weight.Rows, weight.Cols, x, y);
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new BFloat16Rows(weight, xp, yp), weight.Rows, RowBlock);
        }
    }

    /// <summary>
    /// y0 = W0·x and y1 = W1·x in one dispatch, for projections that share their input (gate and up).
    /// </summary>
    public static void Multiply(ComputePool pool, ReadOnlySpan<float> x,
        FloatMatrix w0, Span<float> y0, FloatMatrix w1, Span<float> y1)
        => Multiply(pool, x, w0, y0, w1, y1, new FloatMatrix(null, 0, x.Length), []);

    /// <summary>
    /// y0 = W0·x, y1 = W1·x and y2 = W2·x in one dispatch, for projections that share their input
    /// (query, key and value): one pool round-trip instead of three.
    /// </summary>
    public static void Multiply(ComputePool pool, ReadOnlySpan<float> x,
        FloatMatrix w0, Span<float> y0, FloatMatrix w1, Span<float> y1, FloatMatrix w2, Span<float> y2)
    {
        CheckShape(w0.Rows, w0.Cols, x, y0);
        CheckShape(w1.Rows, w1.Cols, x, y1);
        CheckShape(w2.Rows, w2.Cols, x, y2);
        fixed (float* xp = x)
        fixed (float* p0 = y0)
        fixed (float* p1 = y1)
        fixed (float* p2 = y2)
        {
            var job = new SharedInputRows(
                new FloatRows(w0, xp, p0, 0, false), w0.Rows,
                new FloatRows(w1, xp, p1, 0, false), w1.Rows,
                new FloatRows(w2, xp, p2, 0, false));
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

    /// <summary>Rows of one float32 matrix; writes y[r] = W[r]·x, or adds scale · W[r]·x.</summary>
    internal readonly struct FloatRows : IRangeJob
    {
        private readonly float* _w;
        private readonly float* _x;
        private readonly float* _y;
        private readonly int _cols;
        private readonly float _scale;
        private readonly bool _accumulate;

        public FloatRows(FloatMatrix weight, float* x, float* y, float scale, bool accumulate)
        {
            _w = weight.Data;
            _x = x;
            _y = y;
            _cols = weight.Cols;
            _scale = scale;
            _accumulate = accumulate;
        }

        public void Execute(int start, int end)
        {
            nint cols = _cols;
            int r = start;
            for (; r <= end - RowBlock; r += RowBlock)
            {
                float* w = _w + (r * cols);
                RowDot.Four(w, w + cols, w + (2 * cols), w + (3 * cols), _x, _cols,
                    out float s0, out float s1, out float s2, out float s3);
                Store(r, s0);
                Store(r + 1, s1);
                Store(r + 2, s2);
                Store(r + 3, s3);
            }
            for (; r < end; r++)
            {
                Store(r, RowDot.One(_w + (r * cols), _x, _cols));
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

    private readonly struct BFloat16Rows : IRangeJob
    {
        // Widest input paired on the stack (32 KiB); wider inputs (no LLaMA-family width so far) run the scalar loop.
        private const int MaxPairedColumns = 8192;

        private readonly ushort* _w;
        private readonly float* _x;
        private readonly float* _y;
        private readonly int _cols;

        public BFloat16Rows(BFloat16Matrix weight, float* x, float* y)
        {
            _w = weight.Data;
            _x = x;
            _y = y;
            _cols = weight.Cols;
        }

        public void Execute(int start, int end)
        {
            // Each range pairs its own copy of x: a few hundred nanoseconds, against tens of microseconds of rows.
            int paired = Vector512.IsHardwareAccelerated && _cols <= MaxPairedColumns
                ? _cols / RowDot.PairedBlock * RowDot.PairedBlock
                : 0;
            float* pairedX = stackalloc float[paired];
            RowDot.PairInput(_x, paired, pairedX);

            nint cols = _cols;
            int r = start;
            for (; r <= end - RowBlock; r += RowBlock)
            {
                ushort* w = _w + (r * cols);
                RowDot.Four(w, w + cols, w + (2 * cols), w + (3 * cols), _x, pairedX, paired, _cols,
                    out _y[r], out _y[r + 1], out _y[r + 2], out _y[r + 3]);
            }
            for (; r < end; r++)
            {
                _y[r] = RowDot.One(_w + (r * cols), _x, pairedX, paired, _cols);
            }
        }
    }

    /// <summary>The rows of up to three matrices with one input, numbered one after the other.</summary>
    private readonly struct SharedInputRows : IRangeJob
    {
        private readonly FloatRows _first;
        private readonly FloatRows _second;
        private readonly FloatRows _third;
        private readonly int _secondStart;
        private readonly int _thirdStart;

        public SharedInputRows(FloatRows first, int firstRows, FloatRows second, int secondRows, FloatRows third)
        {
            _first = first;
            _second = second;
            _third = third;
            _secondStart = firstRows;
            _thirdStart = firstRows + secondRows;
        }

        public void Execute(int start, int end)
        {
            if (start < _secondStart)
            {
                _first.Execute(start, Math.Min(end, _secondStart));
            }
            if (start < _thirdStart && end > _secondStart)
            {
                _second.Execute(Math.Max(start, _secondStart) - _secondStart, Math.Min(end, _thirdStart) - _secondStart);
            }
            if (end > _thirdStart)
            {
                _third.Execute(Math.Max(start, _thirdStart) - _thirdStart, end - _thirdStart);
            }
        }
    }
}
