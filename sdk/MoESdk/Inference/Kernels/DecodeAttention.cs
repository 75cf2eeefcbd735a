using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Causal self-attention of one new token over one layer's KV cache, with grouped-query attention (query
/// head h reads kv head h / (heads / kvHeads)) and 1/sqrt(headDim) scaling. The caches are laid out
/// [maxPositions, kvHeads, headDim] and already hold the new token's key and value at <c>position</c>.
/// Heads are split across the pool.
/// </summary>
internal static unsafe class DecodeAttention
{
    /// <param name="pool">Threads to split the heads across.</param>
    /// <param name="query">[heads, headDim], already rotated.</param>
    /// <param name="keys">The layer's key cache, [maxPositions, kvHeads, headDim].</param>
    /// <param name="values">The layer's value cache, same layout.</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="kvHeads">Key/value heads; divides <paramref name="heads"/>.</param>
    /// <param name="headDim">Elements per head.</param>
    /// <param name="position">The new token's position; positions [0, position] are attended.</param>
    /// <param name="scores">Scratch of at least heads · (position + 1) elements.</param>
    /// <param name="output">[heads, headDim].</param>
    public static void Compute(ComputePool pool, ReadOnlySpan<float> query, ReadOnlySpan<float> keys,
        ReadOnlySpan<float> values, int heads, int kvHeads, int headDim, int position, Span<float> scores, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kvHeads, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        if (heads % kvHeads != 0)
        {
            throw new ArgumentException($"{heads} query heads cannot share {kvHeads} kv heads evenly.", nameof(kvHeads));
        }
        int length = position + 1;
        if (query.Length != heads * headDim || output.Length != query.Length || scores.Length < heads * length
            || keys.Length < length * kvHeads * headDim || values.Length != keys.Length)
        {
            throw new ArgumentException("Attention buffers do not match the head counts, head size and position.");
        }
        fixed (float* q = query)
        fixed (float* k = keys)
        fixed (float* v = values)
        fixed (float* s = scores)
        fixed (float* o = output)
        {
            pool.Run(new Heads(q, k, v, s, o, heads / kvHeads, kvHeads, headDim, length), heads);
        }
    }

    /// <summary>
    /// Attention of several sequences, each with its own query, cache and position (<see cref="Heads"/>, built by the
    /// caller after the checks the one-sequence overload makes), in one dispatch over all their heads: each head's result is
    /// the one that overload gives.
    /// </summary>
    public static void Compute(ComputePool pool, Heads* sequences, int count, int heads) =>
        pool.Run(new SequenceHeads(sequences, heads), count * heads);

    private readonly struct SequenceHeads(Heads* sequences, int heads) : IRangeJob
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            while (start < end)
            {
                int sequence = start / heads, head = start % heads;
                int last = Math.Min(end - (sequence * heads), heads);
                sequences[sequence].Execute(head, last);
                start = (sequence * heads) + last;
            }
        }
    }

    /// <summary>The heads of one sequence's attention at one position.</summary>
    internal readonly struct Heads : IRangeJob
    {
        private readonly float* _query;
        private readonly float* _keys;
        private readonly float* _values;
        private readonly float* _scores;
        private readonly float* _output;
        private readonly int _group;
        private readonly int _kvHeads;
        private readonly int _headDim;
        private readonly int _length;

        public Heads(float* query, float* keys, float* values, float* scores, float* output,
            int group, int kvHeads, int headDim, int length)
        {
            _query = query;
            _keys = keys;
            _values = values;
            _scores = scores;
            _output = output;
            _group = group;
            _kvHeads = kvHeads;
            _headDim = headDim;
            _length = length;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(_headDim);
            nint positionStride = (nint)_kvHeads * _headDim;
            for (int head = start; head < end; head++)
            {
                float* q = _query + ((nint)head * _headDim);
                float* scores = _scores + ((nint)head * _length);
                nint kvOffset = (nint)(head / _group) * _headDim;

                for (int t = 0; t < _length; t++)
                {
                    scores[t] = RowDot.One(_keys + (t * positionStride) + kvOffset, q, _headDim) * scale;
                }
                Softmax.Apply(new Span<float>(scores, _length));

                float* o = _output + ((nint)head * _headDim);
                new Span<float>(o, _headDim).Clear();
                for (int t = 0; t < _length; t++)
                {
                    AddScaled(o, _values + (t * positionStride) + kvOffset, scores[t], _headDim);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void AddScaled(float* o, float* v, float weight, int count)
        {
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> w = Vector512.Create(weight);
                for (; i <= count - 16; i += 16)
                {
                    Vector512.FusedMultiplyAdd(Vector512.Load(v + i), w, Vector512.Load(o + i)).Store(o + i);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> w = Vector256.Create(weight);
                for (; i <= count - 8; i += 8)
                {
                    Vector256.MultiplyAddEstimate(Vector256.Load(v + i), w, Vector256.Load(o + i)).Store(o + i);
                }
            }
            for (; i < count; i++)
            {
                o[i] += v[i] * weight;
            }
        }
    }
}
