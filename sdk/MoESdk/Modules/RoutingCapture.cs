using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Collects what a Mixture-of-Experts block saw during a training forward pass (its input, its router
/// logits and its output, with gradients), so router losses such as FactorLLM's prior-approximation and
/// balance terms, and expert distillation, can be computed by the trainer. Set on a block, run the model,
/// read, then <see cref="Clear"/>.
/// </summary>
public sealed class RoutingCapture
{
    private readonly List<(Tensor Input, Tensor Logits)> _entries = [];
    private readonly List<Tensor> _outputs = [];

    /// <summary>Per forward pass: the block's input tokens [tokens, hidden] and router logits [tokens, experts].</summary>
    public IReadOnlyList<(Tensor Input, Tensor Logits)> Entries => _entries;

    /// <summary>Per forward pass: the block's output [tokens, hidden].</summary>
    public IReadOnlyList<Tensor> Outputs => _outputs;

    // The block's dispose scopes would free these when its forward returns; the capture owns them instead.
    internal void Add(Tensor input, Tensor logits) => _entries.Add((input.DetachFromDisposeScope(), logits.DetachFromDisposeScope()));

    internal void AddOutput(Tensor output) => _outputs.Add(output.DetachFromDisposeScope());

    /// <summary>Frees what was captured (the autograd graph keeps what a pending backward pass needs).</summary>
    public void Clear()
    {
        foreach ((Tensor input, Tensor logits) in _entries)
        {
            input.Dispose();
            logits.Dispose();
        }
        _outputs.ForEach(o => o.Dispose());
        _entries.Clear();
        _outputs.Clear();
    }
}
