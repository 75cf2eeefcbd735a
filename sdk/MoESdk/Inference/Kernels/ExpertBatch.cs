using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// One token through several SwiGLU experts at once, y += Σ scale_i · FFN_i(x): the gate and up rows of every expert
/// in one dispatch, then every output row summed over the experts in a second. Two pool round-trips per layer instead
/// of two per expert, which is what fine-grained Mixture-of-Experts layers (dozens of small experts per token) lose
/// their speed to. Holds scratch for up to <see cref="Capacity"/> experts of the widths it was made for, in arrays
/// pinned for their lifetime (the jobs read them through pointers from the pool's threads); one batch belongs to one
/// session.
/// </summary>
internal sealed unsafe class ExpertBatch
{
    private readonly int _maxHidden;
    private readonly SwiGluWeights[] _expertArray;
    private readonly float[] _scaleArray;
    private readonly int[] _offsetArray;
    private readonly float[] _hiddenArray;
    private readonly float[] _pairedArray;
    private readonly RowInput[] _inputArray;
    private readonly SwiGluWeights* _experts;
    private readonly float* _scales;
    private readonly int* _offsets;
    private readonly float* _hidden;
    private readonly float* _paired;
    private readonly RowInput* _inputs;
    private int _count;

    /// <param name="capacity">Most experts one token runs (chosen plus shared).</param>
    /// <param name="maxHidden">The widest sum of hidden widths those experts can have.</param>
    public ExpertBatch(int capacity, int maxHidden)
    {
        Capacity = capacity;
        _maxHidden = maxHidden;
        _experts = Pinned(capacity, out _expertArray);
        _scales = Pinned(capacity, out _scaleArray);
        _offsets = Pinned(capacity + 1, out _offsetArray);
        _hidden = Pinned(maxHidden, out _hiddenArray);
        _paired = Pinned(maxHidden, out _pairedArray);
        _inputs = Pinned(capacity, out _inputArray);
    }

    // The pinned object heap never moves an array, so its address holds while this batch keeps the array.
    private static T* Pinned<T>(int length, out T[] array)
        where T : unmanaged
    {
        array = GC.AllocateArray<T>(Math.Max(1, length), pinned: true);
        return (T*)Unsafe.AsPointer(ref array[0]);
    }

    public int Capacity { get; }

    /// <summary>The widest sum of hidden widths the batch holds.</summary>
    public int MaxHidden => _maxHidden;

    /// <summary>Starts a token's batch.</summary>
    public void Clear()
    {
        _count = 0;
        _offsets[0] = 0;
    }

    /// <summary>Adds an expert whose output counts <paramref name="scale"/> times.</summary>
    public void Add(in SwiGluWeights expert, float scale)
    {
        if (_count == Capacity || _offsets[_count] + expert.Hidden > _maxHidden)
        {
            throw new InvalidOperationException($"The expert batch holds {Capacity} experts of {_maxHidden} hidden units in all.");
        }
        if (_count > 0 && expert.Dim != _experts[0].Dim)
        {
            throw new ArgumentException($"An expert of width {expert.Dim} joins experts of width {_experts[0].Dim}.", nameof(expert));
        }
        _experts[_count] = expert;
        _scales[_count] = scale;
        _offsets[_count + 1] = _offsets[_count] + expert.Hidden;
        _count++;
    }

    /// <summary>y += Σ scale_i · FFN_i(x) over the experts added since <see cref="Clear"/>.</summary>
    public void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> y)
    {
        if (_count == 0)
        {
            return;
        }
        // Every expert maps the same width to itself (checked in Add), and the activations are this batch's own.
        MatVec.CheckShape(_experts[0].Dim, _experts[0].Dim, x, y);
        // Experts share x, and all are in one precision: one layout of x for every gate and up row.
        float* pairedX = stackalloc float[RowInput.PairedLengthFor(_experts[0].Gate)];
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            pool.Run(new GatedRows(_experts, _scales, _offsets, _count, RowInput.For(_experts[0].Gate, xp, pairedX), _hidden), _offsets[_count], MatVec.RowBlock / 2);
            for (int e = 0; e < _count; e++)
            {
                _inputs[e] = RowInput.For(_experts[e].Down, _hidden + _offsets[e], _paired + _offsets[e]);
            }
            pool.Run(new DownRows(_experts, _inputs, _count, yp), _experts[0].Dim, MatVec.RowBlock);
        }
    }

    /// <summary>
    /// h = scale · silu(gate·x) ⊙ (up·x) for the experts' rows numbered one after the other (expert e from offsets[e]).
    /// Each expert's weight goes into its activations here, so the down products of all experts add up in one sum per row.
    /// </summary>
    private readonly struct GatedRows : IRangeJob
    {
        private readonly SwiGluWeights* _experts;
        private readonly float* _scales;
        private readonly int* _offsets;
        private readonly int _count;
        private readonly RowInput _x;
        private readonly float* _hidden;

        public GatedRows(SwiGluWeights* experts, float* scales, int* offsets, int count, RowInput x, float* hidden)
        {
            _experts = experts;
            _scales = scales;
            _offsets = offsets;
            _count = count;
            _x = x;
            _hidden = hidden;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int e = 0;
            while (_offsets[e + 1] <= start)
            {
                e++;
            }
            for (int row = start; row < end && e < _count; e++)
            {
                SwiGluWeights expert = _experts[e];
                float scale = _scales[e];
                int first = _offsets[e];
                int local = row - first, localEnd = Math.Min(end, _offsets[e + 1]) - first;
                float* h = _hidden + first;
                for (; local <= localEnd - 2; local += 2)
                {
                    expert.Gate.Dot4(local, local + 1, expert.Up, local, local + 1, _x, out float g0, out float g1, out float u0, out float u1);
                    h[local] = scale * Silu(g0) * u0;
                    h[local + 1] = scale * Silu(g1) * u1;
                }
                if (local < localEnd)
                {
                    h[local] = scale * Silu(expert.Gate.Dot(local, _x)) * expert.Up.Dot(local, _x);
                }
                row = first + localEnd;
            }
        }

        private static float Silu(float v) => v / (1f + MathF.Exp(-v));
    }

    /// <summary>
    /// y[r] += Σ_e down_e[r]·h_e (h_e already scaled), four output rows at a time across all experts; with Vector512 the
    /// lanes add up across the experts and reduce once per row.
    /// </summary>
    private readonly struct DownRows : IRangeJob
    {
        private readonly SwiGluWeights* _experts;
        private readonly RowInput* _inputs;
        private readonly int _count;
        private readonly float* _y;

        public DownRows(SwiGluWeights* experts, RowInput* inputs, int count, float* y)
        {
            _experts = experts;
            _inputs = inputs;
            _count = count;
            _y = y;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int r = start;
            for (; r <= end - MatVec.RowBlock; r += MatVec.RowBlock)
            {
                float y0 = 0, y1 = 0, y2 = 0, y3 = 0;
                if (WeightMatrix.CanAccumulateLanes)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int e = 0; e < _count; e++)
                    {
                        _experts[e].Down.Dot4Into(r, _inputs[e], ref a0, ref a1, ref a2, ref a3);
                    }
                    y0 = Vector512.Sum(a0);
                    y1 = Vector512.Sum(a1);
                    y2 = Vector512.Sum(a2);
                    y3 = Vector512.Sum(a3);
                }
                else
                {
                    for (int e = 0; e < _count; e++)
                    {
                        WeightMatrix down = _experts[e].Down;
                        down.Dot4(r, r + 1, down, r + 2, r + 3, _inputs[e], out float s0, out float s1, out float s2, out float s3);
                        y0 += s0;
                        y1 += s1;
                        y2 += s2;
                        y3 += s3;
                    }
                }
                _y[r] += y0;
                _y[r + 1] += y1;
                _y[r + 2] += y2;
                _y[r + 3] += y3;
            }
            for (; r < end; r++)
            {
                float sum = 0;
                for (int e = 0; e < _count; e++)
                {
                    sum += _experts[e].Down.Dot(r, _inputs[e]);
                }
                _y[r] += sum;
            }
        }
    }
}
