namespace MoESdk.Runtime;

/// <summary>
/// A routed expert of a Mixture-of-Experts model, as (layer, index within the layer). One type for every model; a
/// generated model class hands out one per expert its manifest has (<c>KjvLlamaMoE.Experts.Layer3.Expert5</c>), so a
/// wrong index there does not compile, and the runtime checks any other against the model it is used with.
/// </summary>
public readonly struct ExpertId : IEquatable<ExpertId>
{
    /// <param name="layer">The layer the expert belongs to.</param>
    /// <param name="index">Zero-based expert index within its layer (the router's output index).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public ExpertId(LayerId layer, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Layer = layer;
        Index = index;
    }

    /// <summary>The layer the expert belongs to.</summary>
    public LayerId Layer { get; }

    /// <summary>Zero-based expert index within its layer (the router's output index).</summary>
    public int Index { get; }

    public bool Equals(ExpertId other) => Layer == other.Layer && Index == other.Index;

    public override bool Equals(object? obj) => obj is ExpertId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Layer.Index, Index);

    /// <summary>"layer 3, expert 5".</summary>
    public override string ToString() => $"{Layer}, expert {Index}";

    public static bool operator ==(ExpertId left, ExpertId right) => left.Equals(right);

    public static bool operator !=(ExpertId left, ExpertId right) => !left.Equals(right);
}
