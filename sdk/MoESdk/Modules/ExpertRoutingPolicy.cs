using MoESdk.Runtime;

namespace MoESdk.Modules;

/// <summary>
/// A routing policy for a whole Mixture-of-Experts model: a <see cref="LayerRoutingPolicy"/> per layer that has one
/// (layers it does not name route as usual). Immutable; made by a <see cref="RoutingPolicyBuilder"/> (a generated model
/// class's <c>CreateRoutingPolicy()</c>), which checks it against the model's routers; <see cref="Validate"/> checks it
/// against another model.
/// </summary>
public sealed class ExpertRoutingPolicy
{
    private readonly Dictionary<int, LayerRoutingPolicy> _layers;

    /// <param name="layers">Each layer's policy, by zero-based layer index.</param>
    internal ExpertRoutingPolicy(IReadOnlyDictionary<int, LayerRoutingPolicy> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Keys.Any(l => l < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(layers), $"Layer indices are 0 or more; the policy names layer {layers.Keys.Min()}.");
        }
        if (layers.Values.Any(l => l is null))
        {
            throw new ArgumentNullException(nameof(layers), "A layer's routing policy is null; leave the layer out instead.");
        }
        _layers = new Dictionary<int, LayerRoutingPolicy>(layers);
    }

    /// <summary>Each named layer's policy, by zero-based layer index.</summary>
    internal IReadOnlyDictionary<int, LayerRoutingPolicy> Layers => _layers;

    /// <summary>The policy of <paramref name="layer"/>, or null when it routes as usual.</summary>
    internal LayerRoutingPolicy? ForLayer(int layer) => _layers.GetValueOrDefault(layer);

    /// <summary>The layers this policy has rules for, in layer order; the others route as the model does.</summary>
    public IEnumerable<LayerId> RuledLayers => _layers.Keys.Order().Select(layer => new LayerId(layer));

    /// <summary>Whether no token is ever routed to <paramref name="expert"/>.</summary>
    public bool IsDisabled(ExpertId expert) => ForLayer(expert.Layer.Index)?.Disabled.Contains(expert.Index) == true;

    /// <summary>Whether every token of its layer runs through <paramref name="expert"/>.</summary>
    public bool IsPinned(ExpertId expert) => ForLayer(expert.Layer.Index)?.Pinned.Contains(expert.Index) == true;

    /// <summary>Experts per token this policy sets for <paramref name="layer"/>, or null when it keeps the model's (or the request's).</summary>
    public int? ExpertsPerToken(LayerId layer) => ForLayer(layer.Index)?.TopK;

    /// <summary>Checks the policy fits a model whose layers have <paramref name="expertsPerLayer"/> experts and route to <paramref name="topK"/>.</summary>
    /// <exception cref="ArgumentException">A layer the model lacks, or a layer policy that does not fit (see <see cref="LayerRoutingPolicy.Validate(int, int)"/>).</exception>
    public void Validate(IReadOnlyList<int> expertsPerLayer, int topK)
    {
        ArgumentNullException.ThrowIfNull(expertsPerLayer);
        ValidateLayers(expertsPerLayer, _ => topK);
    }

    /// <summary>As <see cref="Validate(IReadOnlyList{int}, int)"/>, for a model whose layers route to different numbers of experts.</summary>
    internal void ValidatePerLayer(IReadOnlyList<int> expertsPerLayer, IReadOnlyList<int> expertsPerToken) =>
        ValidateLayers(expertsPerLayer, layer => expertsPerToken[layer]);

    private void ValidateLayers(IReadOnlyList<int> expertsPerLayer, Func<int, int> topKOfLayer)
    {
        foreach ((int layer, LayerRoutingPolicy policy) in _layers.OrderBy(p => p.Key))
        {
            if (layer >= expertsPerLayer.Count)
            {
                throw new ArgumentException($"The routing policy names layer {layer}, but the model has layers 0..{expertsPerLayer.Count - 1}.");
            }
            policy.Validate(expertsPerLayer[layer], topKOfLayer(layer), $"layer {layer}");
        }
    }
}
