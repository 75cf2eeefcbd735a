using MoESdk.Modules;

namespace MoESdk.Runtime;

/// <summary>
/// Builds an <see cref="ExpertRoutingPolicy"/> from typed experts and layers of one model, e.g.
/// <c>KjvLlamaMoE.CreateRoutingPolicy().Disable(KjvLlamaMoE.Experts.Layer0.Expert1).Build()</c>. It records rules;
/// <see cref="Build"/> checks them against the model's routers with the runtime policy's own validation, so a policy
/// built here fails exactly where one built by hand would.
/// </summary>
public sealed class RoutingPolicyBuilder
{
    private readonly IReadOnlyList<RouterDescriptor> _routers;
    private readonly HashSet<ExpertId> _disabled = [];
    private readonly HashSet<ExpertId> _pinned = [];
    private readonly Dictionary<LayerId, int> _expertsPerToken = [];

    /// <param name="routers">The model's routers, one per layer in layer order (a generated class's <c>Routers</c>).</param>
    /// <exception cref="ArgumentException">A router is listed out of layer order.</exception>
    public RoutingPolicyBuilder(IReadOnlyList<RouterDescriptor> routers)
    {
        ArgumentNullException.ThrowIfNull(routers);
        for (int i = 0; i < routers.Count; i++)
        {
            if (routers[i] is null || routers[i].Layer.Index != i)
            {
                throw new ArgumentException($"Router {i} must describe layer {i}; list the routers one per layer, in layer order.", nameof(routers));
            }
        }
        _routers = routers;
    }

    /// <summary>Never routes tokens to <paramref name="expert"/>.</summary>
    /// <returns>This builder.</returns>
    public RoutingPolicyBuilder Disable(ExpertId expert)
    {
        _disabled.Add(expert);
        return this;
    }

    /// <summary>Always runs <paramref name="expert"/>, as one of its layer's experts per token.</summary>
    /// <returns>This builder.</returns>
    public RoutingPolicyBuilder Pin(ExpertId expert)
    {
        _pinned.Add(expert);
        return this;
    }

    /// <summary>Runs <paramref name="expertsPerToken"/> experts per token in <paramref name="layer"/> instead of its router's.</summary>
    /// <returns>This builder.</returns>
    public RoutingPolicyBuilder WithExpertsPerToken(LayerId layer, int expertsPerToken)
    {
        _expertsPerToken[layer] = expertsPerToken;
        return this;
    }

    /// <summary>The immutable runtime policy, checked against the model's routers. Layers without rules are left out.</summary>
    /// <exception cref="ArgumentException">An expert or layer the model lacks, an expert both disabled and pinned, or a
    /// layer left with fewer enabled experts than it routes to, or more pinned ones.</exception>
    public ExpertRoutingPolicy Build()
    {
        var layers = _disabled.Concat(_pinned).Select(expert => expert.Layer).Concat(_expertsPerToken.Keys)
            .Distinct()
            .ToDictionary(
                layer => layer.Index,
                layer => new LayerRoutingPolicy(
                    _disabled.Where(expert => expert.Layer == layer).Select(expert => expert.Index),
                    _pinned.Where(expert => expert.Layer == layer).Select(expert => expert.Index),
                    _expertsPerToken.TryGetValue(layer, out int k) ? k : null));
        var policy = new ExpertRoutingPolicy(layers);
        policy.ValidatePerLayer(_routers.Select(router => router.Experts).ToArray(), _routers.Select(router => router.ExpertsPerToken).ToArray());
        return policy;
    }
}
