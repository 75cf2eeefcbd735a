using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// A Mixture-of-Experts feed-forward block: a linear router scores N experts per token, the top k run, and
/// their outputs are combined by <see cref="OutputRule"/>; optional shared experts run for every token, scaled by
/// sigmoid(w·x) when the block has a <see cref="SharedExpertGate"/> (Qwen2-MoE).
/// Work is really skipped: tokens are grouped by expert (gather → expert → scatter-add), so each expert
/// computes only its own tokens.
/// </summary>
internal sealed class MixtureOfExpertsFeedForward : FeedForward
{
    private readonly Expert[] _experts;
    private readonly Expert[] _shared;

    public MixtureOfExpertsFeedForward(IReadOnlyList<Expert> experts, IReadOnlyList<Expert> shared, Tensor router, int topK, ExpertOutputRule outputRule, Tensor? sharedExpertGate = null)
        : base(nameof(MixtureOfExpertsFeedForward))
    {
        if (sharedExpertGate is not null && (shared.Count == 0 || !sharedExpertGate.shape.SequenceEqual([1, router.shape[1]])))
        {
            throw new ArgumentException($"A shared expert gate [{string.Join(",", sharedExpertGate.shape)}] needs shared experts and the shape [1, {router.shape[1]}].", nameof(sharedExpertGate));
        }
        if (experts.Count == 0)
        {
            throw new ArgumentException("A Mixture-of-Experts block needs at least one routed expert.", nameof(experts));
        }
        if (router.shape.Length != 2 || router.shape[0] != experts.Count || router.shape[1] != experts[0].Gate.InFeatures)
        {
            throw new ArgumentException($"Router shape [{string.Join(",", router.shape)}] does not match {experts.Count} experts of input {experts[0].Gate.InFeatures}.", nameof(router));
        }
        if (topK < 1 || topK > experts.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, $"Top-k must be in 1..{experts.Count} (the experts of this block), was {topK}.");
        }
        _experts = [.. experts];
        _shared = [.. shared];
        Router = new Projection(router);
        OutputRule = outputRule;
        TopK = topK;
        DefaultRoute = new ExpertRoute(_experts.Length, topK, null);
        register_module("experts", nn.ModuleList(_experts));
        register_module("shared_experts", nn.ModuleList(_shared));
        register_module("router", Router);
        if (sharedExpertGate is not null)
        {
            SharedExpertGate = new Projection(sharedExpertGate);
            register_module("shared_expert_gate", SharedExpertGate);
        }
    }

    /// <summary>
    /// The block of a Hugging Face MoE checkpoint's layer <paramref name="layer"/> (<see cref="ModelConfig.Mixture"/>):
    /// Mixtral renormalizes the chosen probabilities, Qwen2-MoE does so only with norm_topk_prob and gates its shared expert.
    /// </summary>
    public static MixtureOfExpertsFeedForward FromWeights(ModelWeights weights, ModelConfig config, MixtureConfig mixture, int layer)
    {
        long hidden = config.HiddenSize;
        Expert Load(string gate, string up, string down, long width) =>
            new(weights.Get(gate, width, hidden), weights.Get(up, width, hidden), weights.Get(down, hidden, width));
        Expert[] experts = Enumerable.Range(0, mixture.Experts)
            .Select(e => Load(MoEWeightNames.ExpertGate(layer, e), MoEWeightNames.ExpertUp(layer, e), MoEWeightNames.ExpertDown(layer, e), mixture.ExpertWidth))
            .ToArray();
        Expert[] shared = mixture.SharedWidth > 0
            ? [Load(MoEWeightNames.SharedGate(layer, 0), MoEWeightNames.SharedUp(layer, 0), MoEWeightNames.SharedDown(layer, 0), mixture.SharedWidth)]
            : [];
        return new MixtureOfExpertsFeedForward(experts, shared, weights.Get(MoEWeightNames.Router(layer), mixture.Experts, hidden), mixture.ExpertsPerToken,
            mixture.NormalizeTopK ? ExpertOutputRule.RouterWeighted : ExpertOutputRule.RouterProbability,
            mixture.SharedWidth > 0 ? weights.Get(MoEWeightNames.SharedExpertGate(layer), 1, hidden) : null);
    }

    public IReadOnlyList<Expert> Experts => _experts;

    public IReadOnlyList<Expert> SharedExperts => _shared;

    /// <summary>Router weight [experts, hidden]: logits = W·x.</summary>
    public Projection Router { get; }

    public ExpertOutputRule OutputRule { get; }

    /// <summary>Weight [1, hidden] of the shared experts' sigmoid gate (Qwen2-MoE); null when they always count fully.</summary>
    public Projection? SharedExpertGate { get; }

    /// <summary>Experts run per token as the block was built; a run's <see cref="RoutingContext"/> may choose another.</summary>
    public int TopK { get; }

    /// <summary>How the block routes when a run says nothing else: its own top-k, no policy.</summary>
    public ExpertRoute DefaultRoute { get; }

    /// <summary>FactorLLM's N/k scale of the <see cref="ExpertOutputRule.FixedScale"/> rule at the block's own top-k.</summary>
    public float FixedScale => DefaultRoute.FixedScale;

    public override long TotalParameters => _experts.Sum(e => e.TotalParameters) + SharedParameters + Router.Weight.numel();

    public override long ActiveParameters =>
        SharedParameters + Router.Weight.numel() + (long)Math.Round(_experts.Average(e => (double)e.TotalParameters) * TopK);

    private long SharedParameters => _shared.Sum(e => e.TotalParameters) + (SharedExpertGate?.Weight.numel() ?? 0);

    /// <summary>Chosen experts [tokens, k] and their combination weights [tokens, k] at the block's own top-k.</summary>
    public (Tensor Indices, Tensor Weights) Route(Tensor logits) => Route(logits, DefaultRoute);

    /// <summary>
    /// Chosen experts [tokens, k] and their combination weights [tokens, k] for router logits [tokens, N] under
    /// <paramref name="route"/>: disabled experts are never chosen and pinned ones always are; weights use the unmasked logits.
    /// </summary>
    public (Tensor Indices, Tensor Weights) Route(Tensor logits, ExpertRoute route)
    {
        ArgumentNullException.ThrowIfNull(route);
        using var scope = NewDisposeScope();
        Tensor indices = route.Select(logits);
        Tensor values = logits.gather(-1, indices);
        Tensor weights = OutputRule switch
        {
            ExpertOutputRule.RouterWeighted => values.softmax(-1),
            ExpertOutputRule.RouterProbability => logits.softmax(-1).gather(-1, indices),
            // Forward value N/k exactly; the gradient reaches the router through the chosen experts'
            // probabilities (straight-through), which the published FactorLLM code forgot.
            _ => StraightThrough(logits.softmax(-1).gather(-1, indices)) * route.FixedScale,
        };
        return (indices.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }

    public override Tensor forward(Tensor x) => Forward(x, 0, RoutingContext.Default);

    public override Tensor Forward(Tensor x, int layer, RoutingContext routing)
    {
        ArgumentNullException.ThrowIfNull(routing);
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        Tensor tokens = x.reshape(-1, shape[^1]);
        Tensor logits = Router.forward(tokens);
        routing.Capture?.Add(layer, tokens, logits);
        (Tensor indices, Tensor weights) = Route(logits, routing.ForLayer(layer, this));
        routing.Observer?.Invoke(layer, indices.cpu().data<long>().ToArray(), (int)indices.shape[^1]);

        Tensor output = zeros_like(tokens);
        foreach (Expert shared in _shared)
        {
            output = output.add(shared.forward(tokens), TorchScalars.One);
        }
        if (SharedExpertGate is not null)
        {
            output = output * SharedExpertGate.forward(tokens).sigmoid();
        }
        // Group the tokens by expert: each expert runs once, on exactly the tokens routed to it.
        Tensor flatExperts = indices.flatten();
        Tensor flatTokens = arange(tokens.shape[0], device: tokens.device).repeat_interleave(indices.shape[1]);
        Tensor flatWeights = weights.flatten();
        Tensor order = flatExperts.argsort();
        Tensor counts = flatExperts.bincount(null, _experts.Length);
        long[] perExpert = counts.cpu().data<long>().ToArray();
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
            output = output.index_add(0, ids, y, TorchScalars.One);
            offset += n;
        }
        routing.Capture?.AddOutput(layer, output);
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
        if (SharedExpertGate is not null)
        {
            yield return new(MoEWeightNames.SharedExpertGate(layer), SharedExpertGate.Weight);
        }
    }

    private static Tensor StraightThrough(Tensor p) => p - p.detach() + 1;
}
