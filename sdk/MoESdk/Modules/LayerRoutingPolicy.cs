namespace MoESdk.Modules;

/// <summary>
/// How one Mixture-of-Experts layer routes: experts no token may choose, experts every token runs through, and
/// optionally its own top-k. Applied to the router logits before top-k selection, on the torch and the kernel path.
/// </summary>
internal sealed class LayerRoutingPolicy
{
    /// <param name="disabled">Experts (indices within the layer) that are never chosen.</param>
    /// <param name="pinned">Experts (indices within the layer) that every token runs through, as part of its top-k.</param>
    /// <param name="topK">Experts per token in this layer; null keeps the block's top-k.</param>
    public LayerRoutingPolicy(IEnumerable<int>? disabled = null, IEnumerable<int>? pinned = null, int? topK = null)
    {
        Disabled = Checked(disabled, "disabled");
        Pinned = Checked(pinned, "pinned");
        int[] both = Disabled.Intersect(Pinned).Order().ToArray();
        if (both.Length > 0)
        {
            throw new ArgumentException($"Expert(s) {string.Join(", ", both)} are both disabled and pinned; remove them from one of the two.", nameof(pinned));
        }
        if (topK is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "A layer's top-k must be 1 or more.");
        }
        TopK = topK;
    }

    /// <summary>Experts never chosen.</summary>
    public IReadOnlySet<int> Disabled { get; }

    /// <summary>Experts always chosen.</summary>
    public IReadOnlySet<int> Pinned { get; }

    /// <summary>Experts per token in this layer, or null for the block's own top-k.</summary>
    public int? TopK { get; }

    /// <summary>
    /// Checks the policy fits a layer of <paramref name="experts"/> routed experts that routes to <paramref name="blockTopK"/>
    /// experts unless the policy says otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">An expert index is out of range, every expert is disabled, fewer experts stay
    /// enabled than the top-k, or more are pinned than the top-k.</exception>
    public void Validate(int experts, int blockTopK) => Validate(experts, blockTopK, "the layer");

    /// <summary>As <see cref="Validate(int, int)"/>, naming the layer <paramref name="layer"/> (e.g. "layer 3") in errors.</summary>
    internal void Validate(int experts, int blockTopK, string layer)
    {
        int[] outside = Disabled.Concat(Pinned).Where(e => e >= experts).Order().ToArray();
        if (outside.Length > 0)
        {
            throw new ArgumentException($"{Capitalized(layer)} has experts 0..{experts - 1}; the routing policy names expert(s) {string.Join(", ", outside)} that it does not have.");
        }
        int k = TopK ?? blockTopK;
        if (k > experts)
        {
            throw new ArgumentException($"{Capitalized(layer)} has {experts} experts; the routing policy's top-k of {k} is more. Use 1..{experts}.");
        }
        int enabled = experts - Disabled.Count;
        if (enabled == 0)
        {
            throw new ArgumentException($"The routing policy disables all {experts} experts of {layer}; leave at least {k} enabled.");
        }
        if (enabled < k)
        {
            throw new ArgumentException($"The routing policy leaves {enabled} enabled experts in {layer} but it routes to {k}: enable more experts or lower its top-k.");
        }
        if (Pinned.Count > k)
        {
            throw new ArgumentException($"The routing policy pins {Pinned.Count} experts in {layer} but it routes to only {k}: pin fewer or raise its top-k.");
        }
    }

    /// <summary>
    /// What is added to each expert's router logit to choose: 0, −∞ when disabled, +∞ when pinned. The logits themselves,
    /// not the masked scores, weigh the chosen experts, so weights stay finite.
    /// </summary>
    internal float[] SelectionMask(int experts)
    {
        var mask = new float[experts];
        foreach (int e in Disabled)
        {
            mask[e] = float.NegativeInfinity;
        }
        foreach (int e in Pinned)
        {
            mask[e] = float.PositiveInfinity;
        }
        return mask;
    }

    private static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static HashSet<int> Checked(IEnumerable<int>? experts, string what)
    {
        var set = new HashSet<int>(experts ?? []);
        if (set.Any(e => e < 0))
        {
            throw new ArgumentOutOfRangeException(what, $"Expert indices are 0 or more; the {what} experts include {set.Min()}.");
        }
        return set;
    }
}
