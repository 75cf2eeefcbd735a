using MoESdk.Inference.Kernels;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// A model's weight matrices as the decode kernels read them in one <see cref="DecodePrecision"/>: float32 views of
/// the tensors themselves, or bfloat16 / int8 copies made once and shared by every session of the model. The router
/// and the embedding stay float32 in every precision: the router is small and its logits choose the experts, and the
/// embedding is one row per token, not a product. An int8 matrix whose width is not a whole number of blocks stays
/// float32 too.
/// </summary>
internal sealed class DecodeWeights : IDisposable
{
    // Keyed by the float32 storage address: TorchSharp hands out a new Tensor object for the same parameter.
    private readonly Dictionary<nint, WeightMatrix> _copies = [];
    private readonly List<IDisposable> _owned = [];

    private DecodeWeights(DecodePrecision precision) => Precision = precision;

    public DecodePrecision Precision { get; }

    /// <summary>Bytes of the copies (zero for float32, which reads the tensors in place).</summary>
    public long CopyBytes { get; private set; }

    /// <summary>Makes the copies of every product matrix of <paramref name="model"/>'s decode path.</summary>
    public static DecodeWeights Create(LlamaModel model, DecodePrecision precision)
    {
        var weights = new DecodeWeights(precision);
        if (precision == DecodePrecision.Float32)
        {
            return weights;
        }
        try
        {
            foreach (Tensor matrix in ProductMatrices(model))
            {
                weights.Copy(matrix);
            }
            return weights;
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The matrix the kernels read for <paramref name="tensor"/>: its copy in this precision, or the tensor itself.</summary>
    public unsafe WeightMatrix Matrix(Tensor tensor) =>
        _copies.TryGetValue((nint)TensorMemory.Pointer(tensor), out WeightMatrix copy) ? copy : WeightView.Matrix(tensor);

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
        _owned.Clear();
        _copies.Clear();
    }

    private unsafe void Copy(Tensor tensor)
    {
        nint key = (nint)TensorMemory.Pointer(tensor);
        if (_copies.ContainsKey(key))
        {
            return;
        }
        FloatMatrix source = WeightView.Matrix(tensor);
        WeightMatrix copy;
        if (Precision == DecodePrecision.BFloat16)
        {
            BFloat16Weights half = BFloat16Weights.FromMatrix(source);
            _owned.Add(half);
            copy = half.Matrix;
        }
        else if (Int8Weights.CanQuantize(source.Cols))
        {
            Int8Weights quantized = Int8Weights.FromMatrix(source);
            _owned.Add(quantized);
            copy = quantized.Matrix;
        }
        else
        {
            return;
        }
        _copies.Add(key, copy);
        CopyBytes += copy.Bytes;
    }

    private static IEnumerable<Tensor> ProductMatrices(LlamaModel model)
    {
        foreach (DecoderLayer layer in model.Layers)
        {
            Attention a = layer.Attention;
            yield return a.Query.Weight;
            yield return a.Key.Weight;
            yield return a.Value.Weight;
            yield return a.Output.Weight;
            IEnumerable<Expert> experts = layer.FeedForward switch
            {
                MixtureOfExpertsFeedForward m => m.Experts.Concat(m.SharedExperts),
                _ => [],
            };
            if (layer.FeedForward is DenseFeedForward d)
            {
                yield return d.Gate.Weight;
                yield return d.Up.Weight;
                yield return d.Down.Weight;
            }
            foreach (Expert e in experts)
            {
                yield return e.Gate.Weight;
                yield return e.Up.Weight;
                yield return e.Down.Weight;
            }
        }
        yield return model.Head;
    }
}
