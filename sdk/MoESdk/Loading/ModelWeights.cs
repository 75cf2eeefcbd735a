using TorchSharp;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The named tensors of a model (float32, or as <see cref="LoadOptions.Precision"/> holds them), keyed by
/// <see cref="WeightNames"/>, plus the file they came from for error messages. Owns its tensors.
/// </summary>
internal sealed class ModelWeights : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    public ModelWeights(string source, Dictionary<string, Tensor> tensors)
    {
        Source = source;
        _tensors = tensors;
    }

    /// <summary>The file or folder the weights were read from.</summary>
    public string Source { get; }

    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The tensor called <paramref name="name"/>, checked against the expected shape.</summary>
    public Tensor Get(string name, params long[] shape)
    {
        if (!_tensors.TryGetValue(name, out Tensor? tensor))
        {
            throw new ModelFormatException(Source, $"tensor '{name}' is missing");
        }
        if (!tensor.shape.SequenceEqual(shape))
        {
            throw new ModelFormatException(Source,
                $"tensor '{name}' has shape [{string.Join(", ", tensor.shape)}], expected [{string.Join(", ", shape)}]");
        }
        return tensor;
    }

    /// <summary>Converts every tensor to <paramref name="type"/>, one at a time (each old copy is freed as it goes).</summary>
    internal void ConvertTo(ScalarType type) => ReplaceEach(tensor => tensor.to(type));

    /// <summary>
    /// Quantizes every matrix that <see cref="HeldBlocks.Applies"/> to into <paramref name="precision"/> (Int8 or Int4),
    /// one at a time (each float32 copy is freed as it goes).
    /// </summary>
    internal void HoldInBlocks(Inference.DecodePrecision precision) =>
        ReplaceEach(tensor => HeldBlocks.Quantize(tensor, precision), name => HeldBlocks.Applies(name, _tensors[name].shape));

    private void ReplaceEach(Func<Tensor, Tensor> replacement, Func<string, bool>? which = null)
    {
        foreach (string name in _tensors.Keys.Where(which ?? (_ => true)).ToList())
        {
            Tensor replaced = replacement(_tensors[name]).DetachFromDisposeScope();
            _tensors[name].Dispose();
            _tensors[name] = replaced;
        }
    }

    public void Dispose()
    {
        foreach (Tensor tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
        _tensors.Clear();
    }
}
