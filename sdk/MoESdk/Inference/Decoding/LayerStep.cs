using MoESdk.Inference.Kernels;
using MoESdk.Modules;

namespace MoESdk.Inference.Decoding;

/// <summary>One decoder layer's weights as the decode kernels read them.</summary>
internal sealed unsafe class LayerStep
{
    public LayerStep(DecoderLayer layer, DecodeWeights weights, IFeedForwardStep feedForward)
    {
        Attention attention = layer.Attention;
        AttentionNorm = weights.Vector(layer.AttentionNorm.Weight);
        FeedForwardNorm = weights.Vector(layer.FeedForwardNorm.Weight);
        Query = weights.Matrix(attention.Query.Weight);
        Key = weights.Matrix(attention.Key.Weight);
        Value = weights.Matrix(attention.Value.Weight);
        Output = weights.Matrix(attention.Output.Weight);
        QueryBias = attention.Query.Bias is { } qb ? weights.Vector(qb) : null;
        KeyBias = attention.Key.Bias is { } kb ? weights.Vector(kb) : null;
        ValueBias = attention.Value.Bias is { } vb ? weights.Vector(vb) : null;
        QueryNorm = attention.QueryNorm is { } qn ? weights.Vector(qn.Weight) : null;
        KeyNorm = attention.KeyNorm is { } kn ? weights.Vector(kn.Weight) : null;
        FeedForward = feedForward;
    }

    public float* AttentionNorm { get; }

    public float* FeedForwardNorm { get; }

    public WeightMatrix Query { get; }

    public WeightMatrix Key { get; }

    public WeightMatrix Value { get; }

    public WeightMatrix Output { get; }

    /// <summary>Qwen3's per-head query and key norm weights [headDim]; null for other models.</summary>
    public float* QueryNorm { get; }

    /// <summary>See <see cref="QueryNorm"/>.</summary>
    public float* KeyNorm { get; }

    /// <summary>Qwen2's q/k/v biases; null for LLaMA and Mistral.</summary>
    public float* QueryBias { get; }

    public float* KeyBias { get; }

    public float* ValueBias { get; }

    public IFeedForwardStep FeedForward { get; private set; }

    /// <summary>This layer for another lane of the same session: shared weights, its own feed-forward state.</summary>
    public LayerStep Fork()
    {
        var fork = (LayerStep)MemberwiseClone();
        fork.FeedForward = FeedForward.Fork();
        return fork;
    }

    /// <summary>Whether every tensor of the layer can be read in place by the kernels.</summary>
    public static bool CanRead(DecoderLayer layer)
    {
        Attention a = layer.Attention;
        IEnumerable<TorchSharp.torch.Tensor?> tensors =
        [
            layer.AttentionNorm.Weight, layer.FeedForwardNorm.Weight, a.Query.Weight, a.Key.Weight, a.Value.Weight,
            a.Output.Weight, a.Query.Bias, a.Key.Bias, a.Value.Bias, a.QueryNorm?.Weight, a.KeyNorm?.Weight,
        ];
        bool feedForwardReadable = layer.FeedForward switch
        {
            DenseFeedForward d => WeightView.IsReadable(d.Gate.Weight) && WeightView.IsReadable(d.Up.Weight) && WeightView.IsReadable(d.Down.Weight),
            MixtureOfExpertsFeedForward m => WeightView.IsReadable(m.Router.Weight)
                && m.Experts.Concat(m.SharedExperts).All(e => WeightView.IsReadable(e.Gate.Weight) && WeightView.IsReadable(e.Up.Weight) && WeightView.IsReadable(e.Down.Weight)),
            // Recorders and other instrumented blocks run on the torch path.
            _ => false,
        };
        return feedForwardReadable && tensors.All(t => t is null || WeightView.IsReadable(t));
    }
}
