using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>Multi-head self-attention with rotary positions and grouped-query key/value heads.</summary>
internal sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly RotaryEmbedding _rotary;

    public Attention(ModelConfig config, ModelWeights weights, int layer, RotaryEmbedding rotary) : base(nameof(Attention))
    {
        Heads = config.NumHeads;
        KeyValueHeads = config.NumKeyValueHeads;
        HeadDim = config.HeadDim;
        SlidingWindow = config.SlidingWindow;
        _rotary = rotary;
        long hidden = config.HiddenSize, kvWidth = (long)KeyValueHeads * HeadDim;
        Query = new Projection(weights.Get(WeightNames.Query(layer), Heads * (long)HeadDim, hidden),
            config.AttentionBias ? weights.Get(WeightNames.QueryBias(layer), Heads * (long)HeadDim) : null);
        Key = new Projection(weights.Get(WeightNames.Key(layer), kvWidth, hidden),
            config.AttentionBias ? weights.Get(WeightNames.KeyBias(layer), kvWidth) : null);
        Value = new Projection(weights.Get(WeightNames.Value(layer), kvWidth, hidden),
            config.AttentionBias ? weights.Get(WeightNames.ValueBias(layer), kvWidth) : null);
        Output = new Projection(weights.Get(WeightNames.Output(layer), hidden, Heads * (long)HeadDim));
        if (config.QueryKeyNorm)
        {
            QueryNorm = new RmsNorm(weights.Get(WeightNames.QueryNorm(layer), HeadDim), config.RmsNormEpsilon);
            KeyNorm = new RmsNorm(weights.Get(WeightNames.KeyNorm(layer), HeadDim), config.RmsNormEpsilon);
            register_module("q_norm", QueryNorm);
            register_module("k_norm", KeyNorm);
        }
        register_module("q_proj", Query);
        register_module("k_proj", Key);
        register_module("v_proj", Value);
        register_module("o_proj", Output);
    }

    public int Heads { get; }

    public int KeyValueHeads { get; }

    public int HeadDim { get; }

    /// <summary>Positions each query sees, its own included (Mistral); null for the whole prefix.</summary>
    public int? SlidingWindow { get; }

    public Projection Query { get; }

    public Projection Key { get; }

    public Projection Value { get; }

    public Projection Output { get; }

    /// <summary>Per-head RMSNorm of the queries before the rotary embedding (Qwen3); null otherwise.</summary>
    public RmsNorm? QueryNorm { get; }

    /// <summary>Per-head RMSNorm of the keys before the rotary embedding (Qwen3); null otherwise.</summary>
    public RmsNorm? KeyNorm { get; }

    /// <summary>Training and evaluation over whole sequences: x [batch, tokens, hidden], causal, no cache.</summary>
    public override Tensor forward(Tensor x) => Forward(x, 0, null, 0);

    /// <summary>
    /// x [batch, tokens, hidden] at positions start..; with a cache (batch 1) the new keys and values are
    /// stored at those positions and the queries attend to everything cached before them too.
    /// </summary>
    public Tensor Forward(Tensor x, int start, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], tokens = x.shape[1];
        Tensor q = Query.forward(x).view(batch, tokens, Heads, HeadDim);
        Tensor k = Key.forward(x).view(batch, tokens, KeyValueHeads, HeadDim);
        if (QueryNorm is not null)
        {
            q = QueryNorm.forward(q);
            k = KeyNorm!.forward(k);
        }
        q = _rotary.Apply(q, start);
        k = _rotary.Apply(k, start);
        Tensor v = Value.forward(x).view(batch, tokens, KeyValueHeads, HeadDim);
        if (cache is not null)
        {
            cache.Keys(layer).narrow(0, start, tokens).copy_(k[0]);
            cache.Values(layer).narrow(0, start, tokens).copy_(v[0]);
            k = cache.Keys(layer).narrow(0, 0, start + tokens).unsqueeze(0);
            v = cache.Values(layer).narrow(0, 0, start + tokens).unsqueeze(0);
            // A session decoding on the kernels keeps float32 keys and values beside a bfloat16 model.
            if (k.dtype != q.dtype)
            {
                k = k.to_type(q.dtype);
                v = v.to_type(q.dtype);
            }
        }

        // [batch, heads, tokens, headDim]; each key/value head serves Heads / KeyValueHeads query heads.
        q = q.transpose(1, 2);
        k = RepeatKeyValueHeads(k.transpose(1, 2));
        v = RepeatKeyValueHeads(v.transpose(1, 2));
        bool windowed = SlidingWindow is { } window && start + tokens > window;
        Tensor attended = windowed
            ? nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: CausalMask(tokens, start, q.device, SlidingWindow))
            : tokens == 1
            ? nn.functional.scaled_dot_product_attention(q, k, v)
            : start == 0
                ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
                : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: CausalMask(tokens, start, q.device));
        Tensor merged = attended.transpose(1, 2).reshape(batch, tokens, Heads * (long)HeadDim);
        return Output.forward(merged).MoveToOuterDisposeScope();
    }

    private Tensor RepeatKeyValueHeads(Tensor kv) =>
        Heads == KeyValueHeads ? kv : kv.repeat_interleave(Heads / KeyValueHeads, dim: 1);

    // Query i sits at position start + i and may see keys 0..start + i: PyTorch's is_causal aligns the
    // triangle top-left, which is wrong when a prefix is already cached. A sliding window also hides keys
    // window or more positions back.
    private static Tensor CausalMask(long tokens, int start, Device device, int? window = null)
    {
        Tensor queryPositions = arange(start, start + tokens, device: device).unsqueeze(1);
        Tensor keyPositions = arange(0, start + tokens, device: device).unsqueeze(0);
        Tensor causal = keyPositions.le(queryPositions);
        return window is { } w ? causal.logical_and(keyPositions.gt(queryPositions - w)) : causal;
    }
}
