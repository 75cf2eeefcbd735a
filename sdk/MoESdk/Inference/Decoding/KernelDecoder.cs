using MoESdk.Inference.Kernels;
using MoESdk.Loading;
using MoESdk.Modules;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// Batch-1 decode of one token with the SDK's own kernels instead of TorchSharp operators. Decode is
/// memory-bound and TorchSharp runs a single float32 row through one thread with a per-call overhead of
/// microseconds, so the kernels stream each weight once, split across the compute pool, and a
/// Mixture-of-Experts layer touches only its chosen experts' rows. Reads the model's weights and the
/// session's KV cache in place: prefill (TorchSharp) and decode (kernels) share the same cache.
/// </summary>
internal sealed unsafe class KernelDecoder
{
    private readonly ModelConfig _config;
    private readonly ComputePool _pool;
    private readonly LayerStep[] _layers;
    private readonly float* _embedding;
    private readonly float* _finalNorm;
    private readonly WeightMatrix _head;
    private readonly Modules.RotaryEmbedding _rotary;
    private readonly float _epsilon;
    private readonly float[] _x;
    private readonly float[] _normed;
    private readonly float[] _query;
    private readonly float[] _attended;
    private readonly float[] _scratch;
    private float[] _scores = [];
    private KvCache? _boundCache;
    private int _boundAllocated;
    private readonly nint[] _keys;
    private readonly nint[] _values;

    private KernelDecoder(LlamaModel model, RoutingContext routing, ComputePool pool, DecodeWeights weights)
    {
        _config = model.Config;
        _pool = pool;
        _layers = model.Layers.Select(l => new LayerStep(l, weights, FeedForwardStep(l, routing, weights))).ToArray();
        _embedding = WeightView.Vector(model.Embedding);
        _finalNorm = WeightView.Vector(model.FinalNorm.Weight);
        _head = weights.Matrix(model.Head);
        _rotary = model.Rotary;
        _epsilon = (float)_config.RmsNormEpsilon;
        _x = new float[_config.HiddenSize];
        _normed = new float[_config.HiddenSize];
        _query = new float[_config.NumHeads * _config.HeadDim];
        _attended = new float[_query.Length];
        _scratch = new float[_layers.Max(l => l.FeedForward.ScratchWidth)];
        _keys = new nint[_layers.Length];
        _values = new nint[_layers.Length];
    }

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
        int position = cache.Length;
        int hidden = _config.HiddenSize, headDim = _config.HeadDim, heads = _config.NumHeads, kvHeads = _config.NumKeyValueHeads;
        int kvWidth = kvHeads * headDim, half = headDim / 2;
        if (position >= cache.Capacity)
        {
            throw new InvalidOperationException($"The KV cache is full ({cache.Capacity} positions).");
        }
        cache.Reserve(position + 1);
        Bind(cache);
        if (_scores.Length < heads * (position + 1))
        {
            _scores = new float[heads * cache.Allocated];
        }
        new ReadOnlySpan<float>(_embedding + ((nint)token * hidden), hidden).CopyTo(_x);
        RotaryTables rotary = _rotary.Covering(position + 1);
        ReadOnlySpan<float> cos = rotary.CosValues.AsSpan(position * half, half);
        ReadOnlySpan<float> sin = rotary.SinValues.AsSpan(position * half, half);
        int cached = cache.Allocated * kvWidth;

        for (int l = 0; l < _layers.Length; l++)
        {
            LayerStep layer = _layers[l];
            var keys = new Span<float>((float*)_keys[l], cached);
            var values = new Span<float>((float*)_values[l], cached);
            Span<float> key = keys.Slice(position * kvWidth, kvWidth);
            Span<float> value = values.Slice(position * kvWidth, kvWidth);

            Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(layer.AttentionNorm, hidden), _epsilon, _normed);
            MatVec.Multiply(_pool, _normed, layer.Query, _query, layer.Key, key, layer.Value, value);
            AddBias(_query, layer.QueryBias);
            AddBias(key, layer.KeyBias);
            AddBias(value, layer.ValueBias);
            NormalizeHeads(_query, layer.QueryNorm, headDim);
            NormalizeHeads(key, layer.KeyNorm, headDim);
            Kernels.RotaryEmbedding.Apply(_query, headDim, cos, sin);
            Kernels.RotaryEmbedding.Apply(key, headDim, cos, sin);
            // A sliding window (Mistral) starts the attended positions at position - window + 1.
            int first = _config.SlidingWindow is { } window ? Math.Max(0, position - window + 1) : 0;
            DecodeAttention.Compute(_pool, _query, keys[(first * kvWidth)..], values[(first * kvWidth)..], heads, kvHeads, headDim, position - first, _scores, _attended);
            MatVec.MultiplyAdd(_pool, layer.Output, _attended, 1f, _x);

            Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(layer.FeedForwardNorm, hidden), _epsilon, _normed);
            layer.FeedForward.Accumulate(_pool, _normed, _scratch, _x);
        }
        Kernels.RmsNorm.Apply(_x, new ReadOnlySpan<float>(_finalNorm, hidden), _epsilon, _normed);
        MatVec.Multiply(_pool, _head, _normed, logits);
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
