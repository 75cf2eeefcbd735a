namespace MoESdk.Modules;

/// <summary>
/// How one run (a generation, a scoring pass, a training loop) routes tokens through a model's Mixture-of-Experts
/// blocks: experts per token, a routing policy, an observer of the chosen experts and a training capture. The run
/// owns it and passes it through the forward pass; the modules keep no routing state, so concurrent runs over one
/// shared model each route their own way. Immutable; one context may serve many runs.
/// </summary>
internal sealed class RoutingContext
{
    private readonly int? _expertsPerToken;

    /// <summary>Routes as the model was built: each block's own top-k, nothing observed or captured.</summary>
    public static RoutingContext Default { get; } = new();

    /// <summary>Routed experts per token in every layer; null keeps each block's own top-k. A policy's per-layer top-k wins.</summary>
    public int? ExpertsPerToken
    {
        get => _expertsPerToken;
        init
        {
            if (value is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(ExpertsPerToken), value, "Experts per token must be 1 or more.");
            }
            _expertsPerToken = value;
        }
    }

    /// <summary>Experts to disable or pin, and per-layer top-k; null routes freely.</summary>
    public ExpertRoutingPolicy? Policy { get; init; }

    /// <summary>Receives every layer's chosen experts (routing statistics, profiles).</summary>
    public ExpertChoiceObserver? Observer { get; init; }

    /// <summary>When set, forward passes record each block's input, router logits and output (router training).</summary>
    internal RoutingCapture? Capture { get; init; }

    /// <summary>How <paramref name="block"/>, layer <paramref name="layer"/> of the model, routes under this context.</summary>
    /// <exception cref="ArgumentException">The experts per token or the layer's policy do not fit the block.</exception>
    internal ExpertRoute ForLayer(int layer, MixtureOfExpertsFeedForward block)
    {
        ArgumentNullException.ThrowIfNull(block);
        LayerRoutingPolicy? policy = Policy?.ForLayer(layer);
        int blockTopK = _expertsPerToken ?? block.TopK;
        if (policy is null && blockTopK == block.TopK)
        {
            return block.DefaultRoute;
        }
        int experts = block.Experts.Count;
        if (blockTopK > experts)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpertsPerToken), blockTopK,
                $"Top-k must be in 1..{experts} (the experts of layer {layer}), was {blockTopK}.");
        }
        policy?.Validate(experts, blockTopK, $"layer {layer}");
        bool masks = policy is { Disabled.Count: > 0 } or { Pinned.Count: > 0 };
        return new ExpertRoute(experts, policy?.TopK ?? blockTopK, masks ? policy!.SelectionMask(experts) : null);
    }
}
