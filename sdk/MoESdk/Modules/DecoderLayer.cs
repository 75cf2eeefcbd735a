using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>Pre-norm decoder layer: x + attn(norm(x)), then h + ffn(norm(h)).</summary>
internal sealed class DecoderLayer : nn.Module<Tensor, Tensor>
{
    private FeedForward _feedForward;

    public DecoderLayer(ModelConfig config, ModelWeights weights, int layer, RotaryEmbedding rotary, FeedForward feedForward)
        : base(nameof(DecoderLayer))
    {
        Index = layer;
        AttentionNorm = new RmsNorm(weights.Get(WeightNames.AttentionNorm(layer), config.HiddenSize), config.RmsNormEpsilon);
        Attention = new Attention(config, weights, layer, rotary);
        FeedForwardNorm = new RmsNorm(weights.Get(WeightNames.FfnNorm(layer), config.HiddenSize), config.RmsNormEpsilon);
        _feedForward = feedForward;
        register_module("input_layernorm", AttentionNorm);
        register_module("self_attn", Attention);
        register_module("post_attention_layernorm", FeedForwardNorm);
        register_module("mlp", _feedForward);
    }

    /// <summary>A layer sharing <paramref name="source"/>'s attention and norms, with another feed-forward block.</summary>
    public DecoderLayer(DecoderLayer source, FeedForward feedForward) : base(nameof(DecoderLayer))
    {
        Index = source.Index;
        AttentionNorm = source.AttentionNorm;
        Attention = source.Attention;
        FeedForwardNorm = source.FeedForwardNorm;
        _feedForward = feedForward;
        register_module("input_layernorm", AttentionNorm);
        register_module("self_attn", Attention);
        register_module("post_attention_layernorm", FeedForwardNorm);
        register_module("mlp", _feedForward);
    }

    public int Index { get; }

    public RmsNorm AttentionNorm { get; }

    public Attention Attention { get; }

    public RmsNorm FeedForwardNorm { get; }

    /// <summary>The replaceable part: dense FFN or a Mixture-of-Experts block.</summary>
    public FeedForward FeedForward
    {
        get => _feedForward;
        set
        {
            _feedForward = value;
            register_module("mlp", value);
        }
    }

    public override Tensor forward(Tensor x) => Forward(x, 0, null);

    /// <summary>Runs x at positions start.. (keys and values kept in <paramref name="cache"/> when given), routed by <paramref name="routing"/> (null: the default routing).</summary>
    public Tensor Forward(Tensor x, int start, KvCache? cache, RoutingContext? routing = null)
    {
        using var scope = NewDisposeScope();
        Tensor h = x.add(Attention.Forward(AttentionNorm.forward(x), start, cache, Index), TorchScalars.One);
        return h.add(_feedForward.Forward(FeedForwardNorm.forward(h), Index, routing ?? RoutingContext.Default), TorchScalars.One).MoveToOuterDisposeScope();
    }
}
