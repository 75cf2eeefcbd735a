using MoESdk.Inference.Kernels;
using MoESdk.Loading;
using MoESdk.Modules;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// Batch-1 decode of one token with the SDK's own kernels instead of TorchSharp operators. Decode is
/// memory-bound and TorchSharp runs a single float32 row through one thread with a per-call overhead of
/// microseconds, so the kernels stream each weight once, split across the compute pool, and a
/// Mixture-of-Experts layer touches only its chosen experts' rows. Reads the model's weights and the
/// session's KV cache in place: a prompt run on TorchSharp or on the kernels (<see cref="StepAt"/>) and decode share the
/// same cache.
/// </summary>
internal sealed unsafe class KernelDecoder
{
    private readonly ModelConfig _config;
    private readonly ComputePool _pool;
    private readonly LayerStep[] _layers;
    private readonly float* _embedding;
    private readonly ushort* _bfloat16Embedding;
    private readonly float* _finalNorm;
    private readonly WeightMatrix _head;
    private readonly Modules.RotaryEmbedding _rotary;
    private readonly float _epsilon;
    private readonly DecodeWeights _weights;

    /// <summary>The precision this decoder reads the matrices in (a bfloat16 model's, unless int8 was asked).</summary>
    public DecodePrecision Precision => _weights.Precision;
    // Pinned: a batched step hands their addresses to the pool's threads.
    private readonly float[] _x;
    private readonly float[] _normed;
    private readonly float[] _query;
    private readonly float[] _attended;
    private readonly float* _xp;
    private readonly float* _normedp;
    private readonly float* _queryp;
    private readonly float* _attendedp;
    private readonly float[] _scratch;
    private float[] _scores = [];
    private float* _scoresp;
    private KvCache? _boundCache;
    private int _boundAllocated;
    private RotaryTables? _rotaryTables;
    private int _position;
    private readonly nint[] _keys;
    private readonly nint[] _values;

    private KernelDecoder(LlamaModel model, RoutingContext routing, ComputePool pool, DecodeWeights weights)
        : this(model.Config, pool, [.. model.Layers.Select(l => new LayerStep(l, weights, FeedForwardStep(l, routing, weights)))],
            // A bfloat16 model's embedding is read in place and widened a row at a time: a float32 copy would be the size of its head.
            IsBFloat16(model.Embedding) ? null : WeightView.Vector(model.Embedding),
            IsBFloat16(model.Embedding) ? TensorMemory.BFloat16Pointer(model.Embedding) : null,
            weights.Vector(model.FinalNorm.Weight), weights.Matrix(model.Head), model.Rotary, weights)
    {
    }

    // Another lane: the source's weights, views and routing, its own vectors and routing state.
    private KernelDecoder(KernelDecoder source)
        : this(source._config, source._pool, [.. source._layers.Select(l => l.Fork())], source._embedding, source._bfloat16Embedding,
            source._finalNorm, source._head, source._rotary, source._weights)
    {
    }

    private KernelDecoder(ModelConfig config, ComputePool pool, LayerStep[] layers, float* embedding, ushort* bfloat16Embedding, float* finalNorm,
        WeightMatrix head, Modules.RotaryEmbedding rotary, DecodeWeights weights)
    {
        _config = config;
        _pool = pool;
        _layers = layers;
        _embedding = embedding;
        _bfloat16Embedding = bfloat16Embedding;
        _finalNorm = finalNorm;
        _head = head;
        _rotary = rotary;
        _epsilon = (float)config.RmsNormEpsilon;
        _weights = weights;
        _x = Pinned(config.HiddenSize, out _xp);
        _normed = Pinned(config.HiddenSize, out _normedp);
        _query = Pinned(config.NumHeads * config.HeadDim, out _queryp);
        _attended = Pinned(_query.Length, out _attendedp);
        _scratch = new float[layers.Max(l => l.FeedForward.ScratchWidth)];
        _keys = new nint[layers.Length];
        _values = new nint[layers.Length];
    }

    private static bool IsBFloat16(TorchSharp.torch.Tensor tensor) => tensor.dtype == TorchSharp.torch.ScalarType.BFloat16;

    /// <summary>
    /// A decoder of the same model, precision and routing that shares this one's weight views (made in microseconds, not
    /// by resolving every tensor again): the lanes of a prompt step.
    /// </summary>
    public KernelDecoder Lane() => new(this);

    /// <summary>
    /// A decoder over <paramref name="model"/>'s weights, or null when some weight is not a contiguous float32
    /// CPU tensor (another device or type) or a block is instrumented: those run on the TorchSharp path. The
    /// Mixture-of-Experts blocks route by <paramref name="routing"/> (null: as built), fixed for the decoder's life.
    /// The product matrices are read in <paramref name="precision"/>; the model makes its copies once, for all sessions.
    /// </summary>
    public static KernelDecoder? TryCreate(LlamaModel model, RoutingContext? routing = null, ComputePool? pool = null,
        DecodePrecision precision = DecodePrecision.Float32)
    {
        bool readable = WeightView.IsReadable(model.Embedding) && WeightView.IsReadable(model.Head)
            && WeightView.IsReadable(model.FinalNorm.Weight) && model.Layers.All(LayerStep.CanRead);
        return readable
            ? new KernelDecoder(model, routing ?? RoutingContext.Default, pool ?? ComputePool.Shared, model.DecodeWeights(precision))
            : null;
    }

    /// <summary>
    /// Runs <paramref name="token"/> at position <c>cache.Length</c>: stores its keys and values in the cache
    /// (the caller advances the length) and writes the next-token logits.
    /// </summary>
    public void Step(int token, KvCache cache, Span<float> logits)
    {
        int hidden = _config.HiddenSize;
        int kvWidth = _config.NumKeyValueHeads * _config.HeadDim;
        int position = Begin(token, cache);

        for (int l = 0; l < _layers.Length; l++)
        {
            LayerStep layer = _layers[l];
            Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(layer.AttentionNorm, hidden), _epsilon, _normed);
            MatVec.Multiply(_pool, _normed, layer.Query, _query, layer.Key, new Span<float>(KeySlot(l), kvWidth), layer.Value, new Span<float>(ValueSlot(l), kvWidth));
            Attend(l, layer);
            MatVec.MultiplyAdd(_pool, layer.Output, _attended, 1f, _x);

            Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(layer.FeedForwardNorm, hidden), _epsilon, _normed);
            layer.FeedForward.Accumulate(_pool, _normed, _scratch, _x);
        }
        Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(_finalNorm, hidden), _epsilon, _normed);
        MatVec.Multiply(_pool, _head, _normed, logits);
    }

    /// <summary>
    /// One step of several sequences of the same model and precision, each with its own decoder (routing), token, cache
    /// and logits: the same work as <see cref="Step(int, KvCache, Span{float})"/> for each, with every weight matrix read
    /// once for all of them (<see cref="MultiVec"/>, <see cref="ExpertGroups"/>). Each sequence's logits are bit for bit
    /// those of its own step. The caller advances each cache's length.
    /// </summary>
    public static void Step(DecodeBatch batch, ReadOnlySpan<KernelDecoder> decoders, ReadOnlySpan<int> tokens, ReadOnlySpan<KvCache> caches, ReadOnlySpan<float[]> logits)
    {
        int n = decoders.Length;
        if (tokens.Length != n || caches.Length != n || logits.Length != n || n > batch.Capacity)
        {
            throw new ArgumentException($"A batched step of {n} decoders got {tokens.Length} tokens, {caches.Length} caches and {logits.Length} logits (at most {batch.Capacity} sequences).");
        }
        Span<int> positions = stackalloc int[n];
        for (int s = 0; s < n; s++)
        {
            positions[s] = caches[s].Length;
        }
        Run(batch, decoders, tokens, caches, positions, logits!);
    }

    /// <summary>
    /// A batched step whose entries are any tokens of any sequences at given positions (a decode token of one sequence,
    /// prompt tokens of another, each on its own decoder): logits only where asked (null: not computed). The entries read
    /// one set of weights (<see cref="SameWeights"/>); the caller reserves each cache for its positions first and
    /// advances the lengths after.
    /// </summary>
    public static void StepAt(DecodeBatch batch, ReadOnlySpan<KernelDecoder> decoders, ReadOnlySpan<int> tokens, ReadOnlySpan<KvCache> caches,
        ReadOnlySpan<int> positions, ReadOnlySpan<float[]?> logits)
    {
        int n = decoders.Length;
        if (tokens.Length != n || caches.Length != n || positions.Length != n || logits.Length != n || n > batch.Capacity)
        {
            throw new ArgumentException($"A batched step of {n} decoders got {tokens.Length} tokens, {caches.Length} caches, {positions.Length} positions and {logits.Length} logits (at most {batch.Capacity}).");
        }
        Run(batch, decoders, tokens, caches, positions, logits);
    }

    /// <summary>Whether two decoders read the same weight matrices in the same precision (may share a batched step).</summary>
    public bool SameWeights(KernelDecoder other) => ReferenceEquals(_weights, other._weights);

    // The batched step with each sequence's position given; logits only where asked (null: not computed).
    private static void Run(DecodeBatch batch, ReadOnlySpan<KernelDecoder> decoders, ReadOnlySpan<int> tokens, ReadOnlySpan<KvCache> caches,
        ReadOnlySpan<int> positions, ReadOnlySpan<float[]?> logits)
    {
        int n = decoders.Length;
        KernelDecoder first = decoders[0];
        for (int s = 1; s < n; s++)
        {
            if (!ReferenceEquals(decoders[s]._weights, first._weights))
            {
                throw new ArgumentException("The sequences of a batched step decode one model in one precision.", nameof(decoders));
            }
        }
        int hidden = first._config.HiddenSize;
        batch.Prepare(first.BatchWidth, first._scratch.Length, first._layers.Length);
        for (int s = 0; s < n; s++)
        {
            KernelDecoder d = decoders[s];
            if (logits[s] is { } output && output.Length != first._config.VocabSize)
            {
                throw new ArgumentException($"The logits of sequence {s} hold {output.Length} values; the vocabulary has {first._config.VocabSize}.", nameof(logits));
            }
            d.Begin(tokens[s], caches[s], positions[s]);
            batch.X[s] = d._xp;
            batch.Normed[s] = d._normedp;
            batch.Query[s] = d._queryp;
            batch.Attended[s] = d._attendedp;
            batch.Hidden[s] = batch.HiddenScratch(s);
        }

        for (int l = 0; l < first._layers.Length; l++)
        {
            LayerStep layer = first._layers[l];
            for (int s = 0; s < n; s++)
            {
                KernelDecoder d = decoders[s];
                Kernels.RmsNorm.Apply(d._x, new ReadOnlySpan<float>(layer.AttentionNorm, hidden), d._epsilon, d._normed);
                batch.Key[s] = d.KeySlot(l);
                batch.Value[s] = d.ValueSlot(l);
            }
            MultiVec.Inputs(layer.Query, batch.Normed, n, batch.Paired, batch.PairedStride, batch.Inputs);
            MultiVec.Multiply(first._pool, batch.Inputs, n, layer.Query, batch.Query, layer.Key, batch.Key, layer.Value, batch.Value);
            for (int s = 0; s < n; s++)
            {
                decoders[s].Position(l, decoders[s]._layers[l]);
                batch.Attention[s] = decoders[s].AttentionHeads(l);
            }
            DecodeAttention.Compute(first._pool, batch.Attention, n, first._config.NumHeads);
            MultiVec.Inputs(layer.Output, batch.Attended, n, batch.Paired, batch.PairedStride, batch.Inputs);
            MultiVec.Multiply(first._pool, layer.Output, batch.Inputs, batch.X, n, 1f, accumulate: true);

            for (int s = 0; s < n; s++)
            {
                KernelDecoder d = decoders[s];
                Kernels.RmsNorm.Apply(d._x, new ReadOnlySpan<float>(layer.FeedForwardNorm, hidden), d._epsilon, d._normed);
                batch.Steps[s] = d._layers[l].FeedForward;
            }
            layer.FeedForward.AccumulateBatch(first._pool, batch, l, batch.Steps.AsSpan(0, n));
        }
        // The head only for the sequences that want logits, numbered from 0 in the batch's slots.
        int wanted = 0;
        try
        {
            for (int s = 0; s < n; s++)
            {
                if (logits[s] is not { } output)
                {
                    continue;
                }
                KernelDecoder d = decoders[s];
                Kernels.RmsNorm.Apply(d._x, new ReadOnlySpan<float>(d._finalNorm, hidden), d._epsilon, d._normed);
                batch.Normed[wanted] = d._normedp;
                batch.Logits[wanted] = batch.Pin(wanted, output);
                wanted++;
            }
            if (wanted > 0)
            {
                MultiVec.Inputs(first._head, batch.Normed, wanted, batch.Paired, batch.PairedStride, batch.Inputs);
                MultiVec.Multiply(first._pool, first._head, batch.Inputs, batch.Logits, wanted);
            }
        }
        finally
        {
            batch.Unpin(wanted);
        }
    }

    /// <summary>The widest input of a product in this model: the paired-input scratch a batched step needs per sequence.</summary>
    private int BatchWidth => Math.Max(Math.Max(_config.HiddenSize, _query.Length), _scratch.Length);

    // Checks room, binds the cache, loads the token's embedding and the position's rotation; returns the position.
    private int Begin(int token, KvCache cache) => Begin(token, cache, cache.Length);

    private int Begin(int token, KvCache cache, int position)
    {
        if (position >= cache.Capacity)
        {
            throw new InvalidOperationException($"The KV cache is full ({cache.Capacity} positions).");
        }
        cache.Reserve(position + 1);
        Bind(cache);
        if (_scores.Length < _config.NumHeads * (position + 1))
        {
            _scores = Pinned(_config.NumHeads * cache.Allocated, out _scoresp);
        }
        if (_bfloat16Embedding != null)
        {
            ushort* row = _bfloat16Embedding + ((nint)token * _config.HiddenSize);
            for (int i = 0; i < _x.Length; i++)
            {
                _x[i] = BitConverter.UInt32BitsToSingle((uint)row[i] << 16);
            }
        }
        else
        {
            new ReadOnlySpan<float>(_embedding + ((nint)token * _config.HiddenSize), _config.HiddenSize).CopyTo(_x);
        }
        _rotaryTables = _rotary.Covering(position + 1);
        _position = position;
        return position;
    }

    private float* KeySlot(int layer) => (float*)_keys[layer] + ((nint)_position * _config.NumKeyValueHeads * _config.HeadDim);

    private float* ValueSlot(int layer) => (float*)_values[layer] + ((nint)_position * _config.NumKeyValueHeads * _config.HeadDim);

    // The query, key and value of this layer are computed: biases, head norms, rotation, attention over the cache.
    private void Attend(int l, LayerStep layer)
    {
        Position(l, layer);
        int kvWidth = _config.NumKeyValueHeads * _config.HeadDim;
        int first = FirstAttended;
        int cached = (_boundAllocated - first) * kvWidth;
        DecodeAttention.Compute(_pool, _query, new Span<float>((float*)_keys[l] + ((nint)first * kvWidth), cached),
            new Span<float>((float*)_values[l] + ((nint)first * kvWidth), cached),
            _config.NumHeads, _config.NumKeyValueHeads, _config.HeadDim, _position - first, _scores, _attended);
    }

    // The first position this position attends to: 0, or with a sliding window (Mistral) position - window + 1.
    private int FirstAttended => _config.SlidingWindow is { } window ? Math.Max(0, _position - window + 1) : 0;

    // Biases, head norms and rotation of this position's query and key.
    private void Position(int l, LayerStep layer)
    {
        int headDim = _config.HeadDim, kvWidth = _config.NumKeyValueHeads * headDim, half = headDim / 2;
        var key = new Span<float>(KeySlot(l), kvWidth);
        var value = new Span<float>(ValueSlot(l), kvWidth);
        ReadOnlySpan<float> cos = _rotaryTables!.CosValues.AsSpan(_position * half, half);
        ReadOnlySpan<float> sin = _rotaryTables.SinValues.AsSpan(_position * half, half);
        AddBias(_query, layer.QueryBias);
        AddBias(key, layer.KeyBias);
        AddBias(value, layer.ValueBias);
        NormalizeHeads(_query, layer.QueryNorm, headDim);
        NormalizeHeads(key, layer.KeyNorm, headDim);
        Kernels.RotaryEmbedding.Apply(_query, headDim, cos, sin);
        Kernels.RotaryEmbedding.Apply(key, headDim, cos, sin);
    }

    // This sequence's attention of layer l at its position, for a batched step (the checks of DecodeAttention.Compute hold by construction).
    private DecodeAttention.Heads AttentionHeads(int l)
    {
        nint first = (nint)FirstAttended * _config.NumKeyValueHeads * _config.HeadDim;
        return new(_queryp, (float*)_keys[l] + first, (float*)_values[l] + first, _scoresp, _attendedp,
            _config.NumHeads / _config.NumKeyValueHeads, _config.NumKeyValueHeads, _config.HeadDim, _position + 1 - FirstAttended);
    }

    // The pinned object heap never moves an array, so its address holds while the decoder keeps the array.
    private static float[] Pinned(int length, out float* pointer)
    {
        float[] array = GC.AllocateArray<float>(length, pinned: true);
        pointer = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref array[0]);
        return array;
    }

    // Qwen3: each head's slice RMS-normalized in place with the shared [headDim] weight.
    private void NormalizeHeads(Span<float> heads, float* weight, int headDim)
    {
        if (weight is null)
        {
            return;
        }
        var w = new ReadOnlySpan<float>(weight, headDim);
        for (int start = 0; start < heads.Length; start += headDim)
        {
            Span<float> head = heads.Slice(start, headDim);
            Kernels.RmsNorm.Apply(head, w, _epsilon, head);
        }
    }

    // A cache's storage moves only when it grows, so its addresses are looked up once per cache and size, not per token.
    private void Bind(KvCache cache)
    {
        if (ReferenceEquals(cache, _boundCache) && cache.Allocated == _boundAllocated)
        {
            return;
        }
        for (int l = 0; l < _layers.Length; l++)
        {
            _keys[l] = (nint)TensorMemory.Pointer(cache.Keys(l));
            _values[l] = (nint)TensorMemory.Pointer(cache.Values(l));
        }
        _boundCache = cache;
        _boundAllocated = cache.Allocated;
    }

    private static void AddBias(Span<float> y, float* bias)
    {
        if (bias is null)
        {
            return;
        }
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += bias[i];
        }
    }

    private static IFeedForwardStep FeedForwardStep(DecoderLayer layer, RoutingContext routing, DecodeWeights weights) => layer.FeedForward switch
    {
        DenseFeedForward dense => new DenseFeedForwardStep(dense, weights),
        MixtureOfExpertsFeedForward mixture => new MixtureFeedForwardStep(mixture, layer.Index, routing, weights),
        FeedForward block => throw new NotSupportedException($"No decode kernel for {block.GetType().Name}."),
    };
}
