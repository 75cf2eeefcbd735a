using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Collects what a Mixture-of-Experts block saw during a training forward pass (its input and its router
/// logits, with gradients), so router losses such as FactorLLM's prior-approximation and balance terms can
/// be computed by the trainer. Set on a block, run the model, read, then <see cref="Clear"/>.
/// </summary>
public sealed class RoutingCapture
{
    private readonly List<(Tensor Input, Tensor Logits)> _entries = [];

    public IReadOnlyList<(Tensor Input, Tensor Logits)> Entries => _entries;

    internal void Add(Tensor input, Tensor logits) => _entries.Add((input, logits));

    public void Clear() => _entries.Clear();
}
