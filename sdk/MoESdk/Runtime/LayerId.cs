namespace MoESdk.Runtime;

/// <summary>
/// A decoder layer of a Mixture-of-Experts model, by zero-based index. One type for every model, so code that works on
/// layers is written once; a generated model class hands out one per layer its manifest has
/// (<c>KjvLlamaMoE.Experts.Layer3.Id</c>), and the runtime checks an index against the model it is used with.
/// </summary>
public readonly struct LayerId : IEquatable<LayerId>
{
    /// <param name="index">Zero-based layer index.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public LayerId(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Index = index;
    }

    /// <summary>Zero-based layer index.</summary>
    public int Index { get; }

    public bool Equals(LayerId other) => Index == other.Index;

    public override bool Equals(object? obj) => obj is LayerId other && Equals(other);

    public override int GetHashCode() => Index;

    /// <summary>"layer 3": how the runtime's errors name a layer.</summary>
    public override string ToString() => $"layer {Index}";

    public static bool operator ==(LayerId left, LayerId right) => left.Equals(right);

    public static bool operator !=(LayerId left, LayerId right) => !left.Equals(right);
}
