using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Matrix × several vectors for a decode step of several sequences: y_s = W·x_s for each sequence s. Each block of
/// four rows is dotted with every sequence's input before the next block is read, so a weight comes from memory once
/// per step and the other sequences read it from cache: decode is memory-bound, so a step of eight costs far less than
/// eight steps of one. Every (row, sequence) product is the call <see cref="MatVec"/> makes for that sequence alone,
/// over the same ranges, so each sequence's result is bit for bit the one it gets when decoded alone.
/// </summary>
internal static unsafe class MultiVec
{
    // Inputs from which an int8 step widens each block of rows once for all of them (WeightMatrix.WidensForMany): from
    // two pairs on, one widening replaces one per pair. Measured on a 64-token prompt of the 1B shape held in int8:
    // 26–29 → 56–64 tokens/s (1.0–1.1× float32's); the 110M shape's, already at float32's, does not change.
    private const int WidenedInputs = 4;

    /// <summary>
    /// The inputs of one product: for each of <paramref name="count"/> sequences, x_s as the rows of
    /// <paramref name="matrix"/> read it (see <see cref="RowInput.For"/>), laid out in <paramref name="paired"/> at a
    /// stride of <paramref name="pairedStride"/> floats.
    /// </summary>
    public static void Inputs(in WeightMatrix matrix, float** x, int count, float* paired, int pairedStride, RowInput* inputs)
    {
        for (int s = 0; s < count; s++)
        {
            inputs[s] = RowInput.For(matrix, x[s], paired + ((nint)s * pairedStride));
        }
    }

    /// <summary>y_s = W·x_s, or y_s += scale · W·x_s when <paramref name="accumulate"/>.</summary>
    public static void Multiply(ComputePool pool, in WeightMatrix weight, RowInput* x, float** y, int count, float scale = 0, bool accumulate = false) =>
        pool.Run(new Rows(weight, x, y, count, scale, accumulate), weight.Rows, MatVec.RowBlock);

    /// <summary>Three matrices with one input per sequence (query, key and value) in one dispatch, as <see cref="MatVec"/> does for one.</summary>
    public static void Multiply(ComputePool pool, RowInput* x, int count, in WeightMatrix w0, float** y0, in WeightMatrix w1, float** y1, in WeightMatrix w2, float** y2) =>
        pool.Run(new ConsecutiveRows<Rows>(new Rows(w0, x, y0, count, 0, false), w0.Rows, new Rows(w1, x, y1, count, 0, false), w1.Rows,
            new Rows(w2, x, y2, count, 0, false)), w0.Rows + w1.Rows + w2.Rows, MatVec.RowBlock);

    /// <summary>h_s = silu(gate·x_s) ⊙ (up·x_s), the first half of a dense SwiGLU block (see <see cref="SwiGluFeedForward"/>).</summary>
    public static void Gated(ComputePool pool, in SwiGluWeights weights, RowInput* x, float** h, int count) =>
        pool.Run(new GatedRows(weights.Gate, weights.Up, x, h, count), weights.Hidden, MatVec.RowBlock / 2);

    /// <summary>Rows of one matrix for every sequence; the same Dot4 / Dot split as <see cref="MatVec.WeightRows"/>.</summary>
    private readonly struct Rows : IRangeJob
    {
        private readonly WeightMatrix _w;
        private readonly RowInput* _x;
        private readonly float** _y;
        private readonly int _count;
        private readonly float _scale;
        private readonly bool _accumulate;

        public Rows(WeightMatrix weight, RowInput* x, float** y, int count, float scale, bool accumulate)
        {
            _w = weight;
            _x = x;
            _y = y;
            _count = count;
            _scale = scale;
            _accumulate = accumulate;
        }

        [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            bool widen = _count >= WidenedInputs && _w.WidensForMany;
            float* tile = stackalloc float[widen ? MatVec.RowBlock * _w.Cols : 0];
            int r = start;
            for (; r <= end - MatVec.RowBlock; r += MatVec.RowBlock)
            {
                int s = 0;
                if (widen)
                {
                    _w.Widen4(r, r + 1, _w, r + 2, r + 3, tile);
                }
                for (; s <= _count - 2; s += 2)
                {
                    float s0, s1, s2, s3, t0, t1, t2, t3;
                    if (widen)
                    {
                        _w.Dot4PairWidened(tile, r, r + 1, _w, r + 2, r + 3, _x[s], _x[s + 1], out s0, out s1, out s2, out s3, out t0, out t1, out t2, out t3);
                    }
                    else
                    {
                        _w.Dot4Pair(r, r + 1, _w, r + 2, r + 3, _x[s], _x[s + 1], RowDot.NextRowsFor(s / 2, _count / 2), out s0, out s1, out s2, out s3, out t0, out t1, out t2, out t3);
                    }
                    Store(_y[s], r, s0, s1, s2, s3);
                    Store(_y[s + 1], r, t0, t1, t2, t3);
                }
                if (s < _count)
                {
                    _w.Dot4(r, r + 1, _w, r + 2, r + 3, _x[s], out float s0, out float s1, out float s2, out float s3);
                    Store(_y[s], r, s0, s1, s2, s3);
                }
            }
            for (; r < end; r++)
            {
                for (int s = 0; s < _count; s++)
                {
                    Store(_y[s], r, _w.Dot(r, _x[s]));
                }
            }
        }

        private void Store(float* y, int row, float d0, float d1, float d2, float d3)
        {
            Store(y, row, d0);
            Store(y, row + 1, d1);
            Store(y, row + 2, d2);
            Store(y, row + 3, d3);
        }

        private void Store(float* y, int row, float dot)
        {
            if (_accumulate)
            {
                y[row] += _scale * dot;
            }
            else
            {
                y[row] = dot;
            }
        }
    }

    /// <summary>Gate and up rows, two of each per step, for every sequence; the split of <see cref="SwiGluFeedForward"/>'s job.</summary>
    private readonly struct GatedRows : IRangeJob
    {
        private readonly WeightMatrix _gate;
        private readonly WeightMatrix _up;
        private readonly RowInput* _x;
        private readonly float** _h;
        private readonly int _count;

        public GatedRows(WeightMatrix gate, WeightMatrix up, RowInput* x, float** h, int count)
        {
            _gate = gate;
            _up = up;
            _x = x;
            _h = h;
            _count = count;
        }

        [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            bool widen = _count >= WidenedInputs && _gate.WidensForMany && _up.WidensForMany;
            float* tile = stackalloc float[widen ? MatVec.RowBlock * _gate.Cols : 0];
            int r = start;
            for (; r <= end - 2; r += 2)
            {
                int s = 0;
                if (widen)
                {
                    _gate.Widen4(r, r + 1, _up, r, r + 1, tile);
                }
                for (; s <= _count - 2; s += 2)
                {
                    float g0, g1, u0, u1, h0, h1, v0, v1;
                    if (widen)
                    {
                        _gate.Dot4PairWidened(tile, r, r + 1, _up, r, r + 1, _x[s], _x[s + 1], out g0, out g1, out u0, out u1, out h0, out h1, out v0, out v1);
                    }
                    else
                    {
                        _gate.Dot4Pair(r, r + 1, _up, r, r + 1, _x[s], _x[s + 1], RowDot.NextRowsFor(s / 2, _count / 2), out g0, out g1, out u0, out u1, out h0, out h1, out v0, out v1);
                    }
                    Store(_h[s], r, g0, g1, u0, u1);
                    Store(_h[s + 1], r, h0, h1, v0, v1);
                }
                if (s < _count)
                {
                    _gate.Dot4(r, r + 1, _up, r, r + 1, _x[s], out float g0, out float g1, out float u0, out float u1);
                    Store(_h[s], r, g0, g1, u0, u1);
                }
            }
            if (r < end)
            {
                for (int s = 0; s < _count; s++)
                {
                    _h[s][r] = Silu(_gate.Dot(r, _x[s])) * _up.Dot(r, _x[s]);
                }
            }
        }

        private static void Store(float* h, int r, float g0, float g1, float u0, float u1)
        {
            h[r] = Silu(g0) * u0;
            h[r + 1] = Silu(g1) * u1;
        }

        private static float Silu(float v) => v / (1f + MathF.Exp(-v));
    }
}
