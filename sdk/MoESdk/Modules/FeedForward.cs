using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// The feed-forward block of a decoder layer: the one part that differs between a dense model and its
/// Mixture-of-Experts conversion. Maps hidden states [.., hidden] to [.., hidden].
/// </summary>
internal abstract class FeedForward : nn.Module<Tensor, Tensor>
{
    protected FeedForward(string name) : base(name)
    {
    }

    /// <summary>Parameters of the block that one token actually uses, on average, when computed.</summary>
    public abstract long ActiveParameters { get; }

    /// <summary>All parameters of the block.</summary>
    public abstract long TotalParameters { get; }

    /// <summary>
    /// Runs the block as layer <paramref name="layer"/> of a run that routes by <paramref name="routing"/>: how a
    /// Mixture-of-Experts block learns its top-k, policy, observer and capture; blocks without a router ignore it.
    /// </summary>
    public virtual Tensor Forward(Tensor x, int layer, RoutingContext routing) => forward(x);

    /// <summary>The block's tensors under their checkpoint names for layer <paramref name="layer"/>.</summary>
    public abstract IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(int layer);
}
