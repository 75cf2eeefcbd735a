using MoESdk.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// ToMoE's training-time view of one layer: the frozen dense FFN, N learned expert masks over its channels
/// and a learned router. Each expert is an embedding; a shared linear map turns it into channel logits,
/// made binary by a straight-through Gumbel-sigmoid. The router picks one expert per token by a
/// straight-through Gumbel-softmax, and the token's FFN keeps only that expert's channels. All weights of
/// the dense FFN stay as they are; only the masks and the router learn.
/// </summary>
internal sealed class MaskedExpertsFeedForward : FeedForward
{
    /// <summary>Temperature of both Gumbel relaxations (ToMoE's 0.4).</summary>
    public const double Temperature = 0.4;

    private const int EmbeddingSize = 64;

    /// <summary>Initial channel logit: masks start almost fully on (sigmoid(3) ≈ 0.95) and are pruned toward the budget.</summary>
    private const float InitialChannelLogit = 3f;

    private readonly Parameter _router;
    private readonly Parameter _expertEmbeddings;
    private readonly Parameter _channelProjection;
    private readonly Parameter _channelBias;
    private readonly Generator _noise;

    public MaskedExpertsFeedForward(DenseFeedForward dense, int experts, Generator noise) : base(nameof(MaskedExpertsFeedForward))
    {
        Dense = dense;
        _noise = noise;
        long hidden = dense.Gate.InFeatures, width = dense.Gate.OutFeatures;
        _router = OwnedParameter.From(randn([experts, hidden], generator: noise) / Math.Sqrt(hidden));
        _expertEmbeddings = OwnedParameter.From(randn([experts, EmbeddingSize], generator: noise));
        _channelProjection = OwnedParameter.From(randn([width, EmbeddingSize], generator: noise) / Math.Sqrt(EmbeddingSize));
        _channelBias = OwnedParameter.From(full([width], InitialChannelLogit));
        register_parameter("router", _router);
        register_parameter("expert_embeddings", _expertEmbeddings);
        register_parameter("channel_projection", _channelProjection);
        register_parameter("channel_bias", _channelBias);
    }

    /// <summary>The wrapped dense FFN (not owned: it belongs to the dense model).</summary>
    public DenseFeedForward Dense { get; }

    /// <summary>Router weight [experts, hidden].</summary>
    public Parameter Router => _router;

    /// <summary>
    /// What ToMoE learns: router, expert embeddings, channel projection and bias. Not <c>parameters()</c>, which
    /// also lists the dense FFN's weights (TorchSharp registers the <see cref="Dense"/> module it finds on its own).
    /// </summary>
    public IReadOnlyList<Parameter> Learned => [_router, _expertEmbeddings, _channelProjection, _channelBias];

    public int ExpertCount => (int)_router.shape[0];

    /// <summary>Statistics of the last forward pass, owned by this block until the next one or <see cref="ClearStatistics"/>.</summary>
    public MaskStatistics? Statistics { get; private set; }

    public override long ActiveParameters => Dense.ActiveParameters;

    public override long TotalParameters => Dense.TotalParameters;

    public override IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(int layer) => Dense.NamedWeights(layer);

    /// <summary>Each expert's channel logits [experts, width]: higher means the channel matters more to it.</summary>
    public Tensor ChannelLogits() => _expertEmbeddings.matmul(_channelProjection.t()) + _channelBias;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        Tensor tokens = x.reshape(-1, shape[^1]);
        Tensor activations = nn.functional.silu(Dense.Gate.forward(tokens)) * Dense.Up.forward(tokens);
        Tensor routerLogits = tokens.matmul(_router.t());
        Tensor choice = GumbelSoftmax(routerLogits);
        Tensor channelLogits = ChannelLogits();
        Tensor masks = GumbelSigmoid(channelLogits);
        Tensor tokenMasks = choice.matmul(masks);
        Tensor output = Dense.Down.forward(activations * tokenMasks);

        // Coverage: share of channels some expert is likely to keep, soft so every mask gets a gradient;
        // Π(1 − σ(l)) = exp(−Σ softplus(l)) without underflowing products.
        Tensor coverage = (1 - (-nn.functional.softplus(channelLogits).sum([0])).exp()).mean();
        // Switch-style balance on the hard choices: 1 when every expert gets the same share of tokens.
        Tensor balance = (choice.detach().mean([0]) * routerLogits.softmax(-1).mean([0])).sum() * ExpertCount;
        ClearStatistics();
        Statistics = new MaskStatistics(tokenMasks.mean().DetachFromDisposeScope(), coverage.DetachFromDisposeScope(), balance.DetachFromDisposeScope());
        return output.reshape(shape).MoveToOuterDisposeScope();
    }

    public void ClearStatistics()
    {
        Statistics?.Dispose();
        Statistics = null;
    }

    /// <summary>One-hot choices [tokens, experts] forward, Gumbel-softmax gradient backward.</summary>
    private Tensor GumbelSoftmax(Tensor logits)
    {
        Tensor uniform = rand(logits.shape, generator: _noise).clamp(1e-10, 1 - 1e-7);
        Tensor soft = ((logits - (-uniform.log()).log()) / Temperature).softmax(-1);
        Tensor hard = nn.functional.one_hot(soft.argmax(-1), soft.shape[^1]).to_type(soft.dtype);
        return hard - soft.detach() + soft;
    }

    /// <summary>Binary masks forward, Gumbel-sigmoid gradient backward.</summary>
    private Tensor GumbelSigmoid(Tensor logits)
    {
        Tensor uniform = rand(logits.shape, generator: _noise).clamp(1e-7, 1 - 1e-7);
        Tensor soft = ((logits + uniform.log() - (1 - uniform).log()) / Temperature).sigmoid();
        Tensor hard = (soft > 0.5).to_type(soft.dtype);
        return hard - soft.detach() + soft;
    }

    protected override void Dispose(bool disposing)
    {
        // The dense FFN belongs to the dense model; only the masks and router are this block's.
        if (disposing)
        {
            ClearStatistics();
            _router.Dispose();
            _expertEmbeddings.Dispose();
            _channelProjection.Dispose();
            _channelBias.Dispose();
        }
    }
}

/// <summary>What ToMoE's loss needs from one layer's forward pass (scalars, with gradients).</summary>
/// <param name="ActiveShare">Mean share of FFN channels a token kept.</param>
/// <param name="Coverage">Share of channels some expert covers.</param>
/// <param name="Balance">Load balance of the routing (1 = even).</param>
internal sealed record MaskStatistics(Tensor ActiveShare, Tensor Coverage, Tensor Balance) : IDisposable
{
    public void Dispose()
    {
        ActiveShare.Dispose();
        Coverage.Dispose();
        Balance.Dispose();
    }
}
