using System.Runtime.CompilerServices;
using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Weight matrices held in int8 (<see cref="LoadOptions.Precision"/> Int8): each is a torch int8 tensor [rows, cols] of
/// q8_0 values (<see cref="Int8Matrix"/>) whose storage goes on past its last value with the rows' float32 block scales.
/// One allocation per matrix, owned and freed by torch like any weight, and read in place by the decode kernels; the
/// TorchSharp path widens a matrix to float32 for the product it takes part in (<see cref="Widen"/>).
/// </summary>
internal static unsafe class HeldInt8
{
    /// <summary>
    /// Whether the tensor <paramref name="name"/> of <paramref name="shape"/> is held in int8: the product matrices whose
    /// rows split into whole blocks. The embedding (looked up, not multiplied), the routers (their logits choose the
    /// experts) and the shared-expert gate stay in float32, as do matrices of any other width.
    /// </summary>
    public static bool Applies(string name, long[] shape) =>
        shape.Length == 2 && Int8Weights.CanQuantize(checked((int)shape[1]))
        && name != WeightNames.Embedding
        && !name.EndsWith(".mlp.gate.weight", StringComparison.Ordinal)
        && !name.EndsWith(".mlp.shared_expert_gate.weight", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="tensor"/> is a matrix held this way.</summary>
    public static bool IsHeld(Tensor tensor) => tensor.dtype == ScalarType.Int8;

    /// <summary>The int8 form of a float32 matrix whose width is a whole number of blocks; the source is left as it is.</summary>
    public static Tensor Quantize(Tensor source)
    {
        using Tensor? widened = source.dtype == ScalarType.Float32 ? null : source.to(ScalarType.Float32);
        using Tensor contiguous = (widened ?? source).contiguous();
        FloatMatrix matrix = TensorMemory.Matrix(contiguous);
        long values = (long)matrix.Rows * matrix.Cols;
        using Tensor storage = empty([values + ScaleBytes(matrix.Rows, matrix.Cols)], ScalarType.Int8);
        sbyte* start = (sbyte*)TensorMemory.Key(storage);
        // values is a multiple of the block size (32), so the scales that follow are float-aligned.
        Int8Weights.Quantize(matrix, start, (float*)(start + values));
        // The view keeps the whole storage alive after this handle to it is disposed.
        return storage.narrow(0, 0, values).view(matrix.Rows, matrix.Cols).DetachFromDisposeScope();
    }

    /// <summary>The kernels' view of a held matrix: its values in place, its scales after them.</summary>
    /// <exception cref="ArgumentException">The tensor is a slice of a held matrix, which has no scales after it.</exception>
    /// <remarks>
    /// Held matrices are made only by <see cref="Quantize"/> and never copied (converting, exporting and moving such a
    /// model are refused): a torch copy would carry the values without the scales, and this view cannot tell.
    /// </remarks>
    public static Int8Matrix Matrix(Tensor held)
    {
        if (held.dim() != 2 || held.storage_offset() != 0 || !Int8Weights.CanQuantize(checked((int)held.shape[1])))
        {
            throw new ArgumentException($"An int8 tensor [{string.Join(", ", held.shape)}] that is not a whole matrix held in int8 (a slice of one) has no block scales to read.", nameof(held));
        }
        sbyte* values = (sbyte*)TensorMemory.Key(held);
        int rows = checked((int)held.shape[0]), cols = checked((int)held.shape[1]);
        return new Int8Matrix(values, (float*)(values + ((long)rows * cols)), rows, cols);
    }

    private static long ScaleBytes(int rows, int cols) => (long)rows * (cols / Int8Matrix.BlockSize) * sizeof(float);

    /// <summary>A float32 copy of a held matrix, w = d·q: what a TorchSharp product multiplies by.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Widen(Tensor held)
    {
        Int8Matrix source = Matrix(held);
        Tensor widened = empty([source.Rows, source.Cols], ScalarType.Float32);
        float* target = TensorMemory.Pointer(widened);
        long blocks = (long)source.Rows * (source.Cols / Int8Matrix.BlockSize);
        for (long b = 0; b < blocks; b++)
        {
            float scale = source.Scales[b];
            long first = b * Int8Matrix.BlockSize;
            for (int i = 0; i < Int8Matrix.BlockSize; i++)
            {
                target[first + i] = scale * source.Values[first + i];
            }
        }
        return widened;
    }

    /// <summary>
    /// x·Wᵀ (+ b) for a weight in any held precision: a held int8 matrix is widened for this product only (one matrix's
    /// float32 at a time), which keeps the TorchSharp path (evaluation, a CUDA-less fallback) exact for such models.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (!IsHeld(weight))
        {
            return nn.functional.linear(x, weight, bias);
        }
        using Tensor widened = Widen(weight);
        return nn.functional.linear(x, widened, bias);
    }

    /// <summary>
    /// Refuses to hand out a held model's matrices as float tensors (saving, exporting, converting, training): the
    /// scales live outside the tensors, and a writer would store the bare int8 values as if they were the weights.
    /// </summary>
    /// <exception cref="NotSupportedException">The model holds matrices in int8.</exception>
    public static void RefuseHeld(Modules.LlamaModel model, string operation)
    {
        if (model.HeldPrecision == Inference.DecodePrecision.Int8)
        {
            throw new NotSupportedException(
                $"This model holds its weight matrices in int8 ({nameof(LoadOptions)}.{nameof(LoadOptions.Precision)} = Int8), which is for running it; to {operation} it, open it in float32 (the default) or bfloat16.");
        }
    }
}
