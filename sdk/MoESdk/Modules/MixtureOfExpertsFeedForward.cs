using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// A Mixture-of-Experts feed-forward block: a linear router scores N experts per token, the top k run, and
/// their outputs are combined by <see cref="OutputRule"/>; optional shared experts run for every token.
/// Work is really skipped: tokens are grouped by expert (gather → expert → scatter-add), so each expert
/// computes only its own tokens.
/// </summary>
public sealed class MixtureOfExpertsFeedForward : FeedForward
{
    private readonly Expert[] _experts;
    private readonly Expert[] _shared;
    private int _topK;
    private LayerRoutingPolicy? _policy;
    private float[]? _mask;

    public MixtureOfExpertsFeedForward(IReadOnlyList<Expert> experts, IReadOnlyList<Expert> shared, Tensor router, int topK, ExpertOutputRule outputRule)
        : base(nameof(MixtureOfExpertsFeedForward))
    {
        if (experts.Count == 0)
        {
            throw new ArgumentException("A Mixture-of-Experts block needs at least one routed expert.", nameof(experts));
        }
        if (router.shape.Length != 2 || router.shape[0] != experts.Count || router.shape[1] != experts[0].Gate.InFeatures)
        {
            throw new ArgumentException($"Router shape [{string.Join(",", router.shape)}] does not match {experts.Count} experts of input {experts[0].Gate.InFeatures}.", nameof(router));
        }
        _experts = [.. experts];
        _shared = [.. shared];
        Router = new Projection(router);
        OutputRule = outputRule;
        TopK = topK;
        register_module("experts", nn.ModuleList(_experts));
        register_module("shared_experts", nn.ModuleList(_shared));
        register_module("router", Router);
    }

    public IReadOnlyList<Expert> Experts => _experts;

    public IReadOnlyList<Expert> SharedExperts => _shared;

    /// <summary>Router weight [experts, hidden]: logits = W·x.</summary>
    public Projection Router { get; }

    public ExpertOutputRule OutputRule { get; }

    /// <summary>Experts run per token; can be lowered at run time (less compute) down to 1.</summary>
    public int TopK
    {
        get => _topK;
        set
        {
            if (value < 1 || value > _experts.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(value), $"Top-k must be in 1..{_experts.Length} (the experts of this block), was {value}.");
            }
            _policy?.Validate(_experts.Length, value, "this block's layer");
            _topK = value;
        }
    }

    /// <summary>
    /// Disabled and pinned experts and a top-k for this block, applied to the router logits before top-k; null routes
    /// freely. Validated on set (and when <see cref="TopK"/> changes) against this block's experts.
    /// </summary>
    public LayerRoutingPolicy? RoutingPolicy
    {
        get => _policy;
        set
        {
            value?.Validate(_experts.Length, _topK, "this block's layer");
            _policy = value;
            _mask = value is { Disabled.Count: 0, Pinned.Count: 0 } ? null : value?.SelectionMask(_experts.Length);
        }
    }

    /// <summary>Experts each token runs through now: the routing policy's top-k, else <see cref="TopK"/>.</summary>
    public int ExpertsPerToken => _policy?.TopK ?? _topK;

    /// <summary>
    /// What the routing policy adds to each router logit before choosing (0, −∞ disabled, +∞ pinned); null when
    /// it changes nothing. The weights of the chosen experts come from the unmasked logits.
    /// </summary>
    internal ReadOnlySpan<float> SelectionMask => _mask;

    /// <summary>FactorLLM's N/k scale of the <see cref="ExpertOutputRule.FixedScale"/> rule.</summary>
    public float FixedScale => (float)_experts.Length / ExpertsPerToken;

    /// <summary>When set, training forwards record their inputs and router logits here.</summary>
    public RoutingCapture? Capture { get; set; }

    /// <summary>When set, receives every token's chosen experts [tokens, k] (routing statistics).</summary>
    public ExpertChoiceObserver? RoutingObserver { get; set; }

    public override long TotalParameters => _experts.Sum(e => e.Parameters) + _shared.Sum(e => e.Parameters) + Router.Weight.numel();

    public override long ActiveParameters =>
        _shared.Sum(e => e.Parameters) + Router.Weight.numel() + (long)Math.Round(_experts.Average(e => (double)e.Parameters) * _topK);

    /// <summary>
    /// Chosen experts [tokens, k] and their combination weights [tokens, k] for router logits [tokens, N]. Under a
    /// routing policy, disabled experts are never chosen and pinned ones always are; weights use the unmasked logits.
    /// </summary>
    public (Tensor Indices, Tensor Weights) Route(Tensor logits)
    {
        using var scope = NewDisposeScope();
        int k = ExpertsPerToken;
        Tensor scores = _mask is null ? logits : logits + tensor(_mask, device: logits.device).to(logits.dtype);
        (_, Tensor indices) = scores.topk(k, dim: -1);
        Tensor values = logits.gather(-1, indices);
        Tensor weights = OutputRule == ExpertOutputRule.RouterWeighted
            ? values.softmax(-1)
            // Forward value N/k exactly; the gradient reaches the router through the chosen experts'
            // probabilities (straight-through), which the published FactorLLM code forgot.
            : StraightThrough(logits.softmax(-1).gather(-1, indices)) * FixedScale;
        return (indices.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        Tensor tokens = x.reshape(-1, shape[^1]);
        Tensor logits = Router.forward(tokens);
        Capture?.Add(tokens, logits);
        (Tensor indices, Tensor weights) = Route(logits);
        RoutingObserver?.Invoke(indices.data<long>().ToArray(), (int)indices.shape[^1]);

        Tensor output = zeros_like(tokens);
        foreach (Expert shared in _shared)
        {
            output = output + shared.forward(tokens);
        }
        // Group the tokens by expert: each expert runs once, on exactly the tokens routed to it.
        Tensor flatExperts = indices.flatten();
        Tensor flatTokens = arange(tokens.shape[0]).repeat_interleave(indices.shape[1]);
        Tensor flatWeights = weights.flatten();
        Tensor order = flatExperts.argsort();
        Tensor counts = flatExperts.bincount(null, _experts.Length);
        long[] perExpert = counts.data<long>().ToArray();
        Tensor sortedTokens = flatTokens.index_select(0, order);
        Tensor sortedWeights = flatWeights.index_select(0, order);
        long offset = 0;
        for (int e = 0; e < _experts.Length; e++)
        {
            long n = perExpert[e];
            if (n == 0)
            {
                continue;
            }
            Tensor ids = sortedTokens.narrow(0, offset, n);
            Tensor y = _experts[e].forward(tokens.index_select(0, ids)) * sortedWeights.narrow(0, offset, n).unsqueeze(-1);
            output = output.index_add(0, ids, y, 1);
            offset += n;
        }
        Capture?.AddOutput(output);
        return output.reshape(shape).MoveToOuterDisposeScope();
    }

    public override IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(int layer)
    {
        yield return new(MoEWeightNames.Router(layer), Router.Weight);
        for (int e = 0; e < _experts.Length; e++)
        {
            yield return new(MoEWeightNames.ExpertGate(layer, e), _experts[e].Gate.Weight);
            yield return new(MoEWeightNames.ExpertUp(layer, e), _experts[e].Up.Weight);
            yield return new(MoEWeightNames.ExpertDown(layer, e), _experts[e].Down.Weight);
        }
        for (int s = 0; s < _shared.Length; s++)
        {
            yield return new(MoEWeightNames.SharedGate(layer, s), _shared[s].Gate.Weight);
            yield return new(MoEWeightNames.SharedUp(layer, s), _shared[s].Up.Weight);
            yield return new(MoEWeightNames.SharedDown(layer, s), _shared[s].Down.Weight);
        }
    }

    private static Tensor StraightThrough(Tensor p) => p - p.detach() + 1;
}
