using MoESdk.Inference.Kernels;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// A model's weight matrices as the decode kernels read them in one <see cref="DecodePrecision"/>: views of the tensors
/// themselves (float32, bfloat16 for a model loaded in bfloat16 whatever the precision asked unless it is int8 or int4,
/// int8 for a model held in int8 whatever the precision asked), or bfloat16 / int8 / int4 copies made once and shared by every session
/// of the model. The router and the norms stay
/// float32 in every precision (copies for a bfloat16 model: they are small, and the router's logits choose the
/// experts). An int8 or int4 matrix whose width is not a whole number of blocks stays as it is.
/// </summary>
internal sealed class DecodeWeights : IDisposable
{
    // Keyed by the storage address: TorchSharp hands out a new Tensor object for the same parameter.
    private readonly Dictionary<nint, WeightMatrix> _copies = [];
    private readonly List<IDisposable> _owned = [];
    private readonly Dictionary<nint, Tensor> _widened = [];

    private DecodeWeights(DecodePrecision precision) => Precision = precision;

    public DecodePrecision Precision { get; }

    /// <summary>
    /// The precision the kernels read <paramref name="model"/>'s matrices in when <paramref name="asked"/> is asked: a
    /// bfloat16 model is read as such unless int8 or int4 is asked, a model held in int8 or int4 always in what it holds (it has nothing wider).
    /// </summary>
    public static DecodePrecision Effective(LlamaModel model, DecodePrecision asked) => model.HeldPrecision switch
    {
        DecodePrecision.Int8 => DecodePrecision.Int8,
        DecodePrecision.Int4 => DecodePrecision.Int4,
        DecodePrecision.BFloat16 when asked == DecodePrecision.Float32 => DecodePrecision.BFloat16,
        _ => asked,
    };

    /// <summary>Bytes of the copies (zero for float32, which reads the tensors in place).</summary>
    public long CopyBytes { get; private set; }

    /// <summary>Makes the copies of every product matrix of <paramref name="model"/>'s decode path.</summary>
    public static DecodeWeights Create(LlamaModel model, DecodePrecision precision)
    {
        var weights = new DecodeWeights(precision);
        if (precision == DecodePrecision.Float32 || (precision == DecodePrecision.BFloat16 && model.DType == ScalarType.BFloat16))
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
    public unsafe WeightMatrix Matrix(Tensor tensor)
    {
        if (HeldBlocks.IsHeld(tensor))
        {
            return HeldBlocks.Matrix(tensor);
        }
        if (_copies.TryGetValue(TensorMemory.Key(tensor), out WeightMatrix copy))
        {
            return copy;
        }
        return tensor.dtype == ScalarType.BFloat16
            ? new BFloat16Matrix(TensorMemory.BFloat16Pointer(tensor), checked((int)tensor.shape[0]), checked((int)tensor.shape[1]))
            : WeightView.Matrix(tensor);
    }

    /// <summary>A float32 matrix for <paramref name="tensor"/> (a router): the tensor itself, or for bfloat16 a float32 copy owned here.</summary>
    public unsafe FloatMatrix FloatMatrix(Tensor tensor) => TensorMemory.Matrix(Float32(tensor));

    /// <summary>A float32 vector for <paramref name="tensor"/> (a norm, a bias): the tensor itself, or for bfloat16 a float32 copy owned here.</summary>
    public unsafe float* Vector(Tensor tensor) => WeightView.Vector(Float32(tensor));

    // Small tensors only: a bfloat16 model's float32 copies of them live as long as these weights.
    private unsafe Tensor Float32(Tensor tensor)
    {
        if (tensor.dtype == ScalarType.Float32)
        {
            return tensor;
        }
        nint key = TensorMemory.Key(tensor);
        lock (_widened)
        {
            if (!_widened.TryGetValue(key, out Tensor? widened))
            {
                widened = tensor.to(ScalarType.Float32).contiguous().DetachFromDisposeScope();
                _widened.Add(key, widened);
                _owned.Add(widened);
            }
            return widened;
        }
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
        _owned.Clear();
        _copies.Clear();
        _widened.Clear();
    }

    private unsafe void Copy(Tensor tensor)
    {
        // A matrix held in int8 or int4 is read in place.
        if (HeldBlocks.IsHeld(tensor))
        {
            return;
        }
        nint key = TensorMemory.Key(tensor);
        if (_copies.ContainsKey(key))
        {
            return;
        }
        // A bfloat16 model's matrix is widened to float32 only while its copy is made.
        using Tensor? widened = tensor.dtype == ScalarType.Float32 ? null : tensor.to(ScalarType.Float32).contiguous();
        FloatMatrix source = WeightView.Matrix(widened ?? tensor);
        WeightMatrix copy;
        if (Precision == DecodePrecision.BFloat16)
        {
            BFloat16Weights half = BFloat16Weights.FromMatrix(source);
            _owned.Add(half);
            copy = half.Matrix;
        }
        else if (!BlockWeights.CanQuantize(source.Cols))
        {
            return;
        }
        else
        {
            BlockWeights quantized = Precision == DecodePrecision.Int4 ? Int4Weights.FromMatrix(source) : Int8Weights.FromMatrix(source);
            _owned.Add(quantized);
            copy = quantized.View;
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
