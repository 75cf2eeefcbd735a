namespace MoESdk.Modules;

/// <summary>
/// A routing policy for a whole Mixture-of-Experts model: a <see cref="LayerRoutingPolicy"/> per layer that has one
/// (layers it does not name route as usual). Immutable; check it against a model with <see cref="Validate"/>.
/// </summary>
public sealed class ExpertRoutingPolicy
{
    private readonly Dictionary<int, LayerRoutingPolicy> _layers;

    /// <param name="layers">Each layer's policy, by zero-based layer index.</param>
    public ExpertRoutingPolicy(IReadOnlyDictionary<int, LayerRoutingPolicy> layers)
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
    public IReadOnlyDictionary<int, LayerRoutingPolicy> Layers => _layers;

    /// <summary>The policy of <paramref name="layer"/>, or null when it routes as usual.</summary>
    public LayerRoutingPolicy? ForLayer(int layer) => _layers.GetValueOrDefault(layer);

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
