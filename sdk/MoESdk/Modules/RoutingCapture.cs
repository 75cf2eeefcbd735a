using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Collects what the Mixture-of-Experts blocks saw during a training forward pass (each block's input, router logits
/// and output, with gradients), so router losses such as FactorLLM's prior-approximation and balance terms, and
/// expert distillation, can be computed by the trainer. Put it in the run's <see cref="RoutingContext.Capture"/>,
/// run the model, read, then <see cref="Clear"/>.
/// </summary>
internal sealed class RoutingCapture
{
    private readonly Dictionary<int, List<(Tensor Input, Tensor Logits)>> _entries = [];
    private readonly Dictionary<int, List<Tensor>> _outputs = [];

    /// <summary>Per forward pass: layer <paramref name="layer"/>'s input tokens [tokens, hidden] and router logits [tokens, experts].</summary>
    public IReadOnlyList<(Tensor Input, Tensor Logits)> Entries(int layer) => _entries.GetValueOrDefault(layer) ?? [];

    /// <summary>Per forward pass: layer <paramref name="layer"/>'s output [tokens, hidden].</summary>
    public IReadOnlyList<Tensor> Outputs(int layer) => _outputs.GetValueOrDefault(layer) ?? [];

    // The block's dispose scopes would free these when its forward returns; the capture owns them instead.
    internal void Add(int layer, Tensor input, Tensor logits) =>
        ListOf(_entries, layer).Add((input.DetachFromDisposeScope(), logits.DetachFromDisposeScope()));

    internal void AddOutput(int layer, Tensor output) => ListOf(_outputs, layer).Add(output.DetachFromDisposeScope());

    /// <summary>Frees what was captured (the autograd graph keeps what a pending backward pass needs).</summary>
    public void Clear()
    {
        foreach ((Tensor input, Tensor logits) in _entries.Values.SelectMany(e => e))
        {
            input.Dispose();
            logits.Dispose();
        }
        foreach (Tensor output in _outputs.Values.SelectMany(o => o))
        {
            output.Dispose();
        }
        _entries.Clear();
        _outputs.Clear();
    }

    private static List<T> ListOf<T>(Dictionary<int, List<T>> lists, int layer)
    {
        if (!lists.TryGetValue(layer, out List<T>? list))
        {
            list = [];
            lists[layer] = list;
        }
        return list;
    }
}
