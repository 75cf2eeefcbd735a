namespace MoESdk.Runtime;

/// <summary>
/// A layer's router as the model's manifest describes it: how many routed experts it chooses from, how many each token
/// runs through, and the experts' widths. A generated model class lists one per layer (<c>KjvLlamaMoE.Routers</c>);
/// code written once for several models takes that list.
/// </summary>
public sealed class RouterDescriptor
{
    /// <param name="layer">The layer this router belongs to.</param>
    /// <param name="experts">Routed experts the router chooses from, 1 or more.</param>
    /// <param name="expertsPerToken">Routed experts each token runs through, in 1..<paramref name="experts"/>.</param>
    /// <param name="expertWidth">Feed-forward neurons of each routed expert, 1 or more.</param>
    /// <param name="sharedExperts">Always-on experts, 0 or more.</param>
    /// <param name="sharedWidth">Feed-forward neurons of each shared expert, 0 or more (0 when there are none).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count or width outside its range.</exception>
    public RouterDescriptor(LayerId layer, int experts, int expertsPerToken, int expertWidth, int sharedExperts = 0, int sharedWidth = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(experts, 1);
        if (expertsPerToken < 1 || expertsPerToken > experts)
        {
            throw new ArgumentOutOfRangeException(nameof(expertsPerToken), expertsPerToken,
                $"Experts per token of {layer} must be between 1 and its {experts} experts.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(expertWidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(sharedExperts);
        ArgumentOutOfRangeException.ThrowIfNegative(sharedWidth);
        Layer = layer;
        Experts = experts;
        ExpertsPerToken = expertsPerToken;
        ExpertWidth = expertWidth;
        SharedExperts = sharedExperts;
        SharedWidth = sharedWidth;
        ExpertIds = Enumerable.Range(0, experts).Select(index => new ExpertId(layer, index)).ToArray();
    }

    /// <summary>The layer this router belongs to.</summary>
    public LayerId Layer { get; }

    /// <summary>Routed experts the router chooses from.</summary>
    public int Experts { get; }

    /// <summary>Routed experts each token runs through, unless a routing policy or a request says otherwise.</summary>
    public int ExpertsPerToken { get; }

    /// <summary>Feed-forward neurons of each routed expert.</summary>
    public int ExpertWidth { get; }

    /// <summary>Always-on experts, run for every token besides the routed ones.</summary>
    public int SharedExperts { get; }

    /// <summary>Feed-forward neurons of each shared expert (0 when there are none).</summary>
    public int SharedWidth { get; }

    /// <summary>Every routed expert of the layer, in index order (the router's output order).</summary>
    public IReadOnlyList<ExpertId> ExpertIds { get; }
}
