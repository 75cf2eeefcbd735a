namespace MoESdk.Serving;

/// <summary>
/// Expert selections counted over every token the model has processed (prompts and generated tokens), per layer and
/// expert. Load imbalance is the busiest expert's count over the mean: 1 is perfectly balanced, N means one expert of
/// N takes everything.
/// </summary>
/// <param name="Tokens">Token positions routed (per layer).</param>
/// <param name="Layers">One entry per layer; empty for a dense model.</param>
public sealed record RoutingSnapshot(long Tokens, IReadOnlyList<LayerRouting> Layers)
{
    /// <summary>The largest load imbalance of any layer; 0 before any token (or for a dense model).</summary>
    public double MaxLoadImbalance => Layers.Count == 0 ? 0 : Layers.Max(l => l.LoadImbalance);
}

/// <summary>One layer's expert selection counts.</summary>
/// <param name="Layer">Layer index.</param>
/// <param name="Selections">Times each expert was chosen.</param>
public sealed record LayerRouting(int Layer, IReadOnlyList<long> Selections)
{
    /// <summary>Busiest expert's selections over the mean; 0 before any selection.</summary>
    public double LoadImbalance
    {
        get
        {
            double mean = Selections.Count == 0 ? 0 : Selections.Average(c => (double)c);
            return mean == 0 ? 0 : Selections.Max() / mean;
        }
    }
}
