using System.Runtime.CompilerServices;
using MoESdk.Inference;
using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Weight matrices held in blocks of 32 (<see cref="LoadOptions.Precision"/> Int8 or Int4): each is a torch tensor
/// [rows, cols] whose storage holds the quantized values and, after them, the rows' float32 block scales. One allocation
/// per matrix, owned and freed by torch like any weight, and read in place by the decode kernels; the TorchSharp path
/// widens a matrix to float32 for the product it takes part in (<see cref="Widen"/>).
/// </summary>
/// <remarks>
/// int8: an int8 tensor, q8_0 values (<see cref="Int8Matrix"/>). int4: a uint8 tensor [rows, cols] with strides
/// [cols / 2, 0] over the packed q4_0 values (<see cref="Int4Matrix"/>): the shape and element count are the matrix's,
/// every element torch could read lies inside the storage (a torch operation on it reads nonsense, never past the end),
/// and no torch tensor is otherwise laid out that way, so the layout names the precision.
/// </remarks>
internal static unsafe class HeldBlocks
{
    /// <summary>
    /// Whether the tensor <paramref name="name"/> of <paramref name="shape"/> is held in blocks: the product matrices whose
    /// rows split into whole blocks. The embedding (looked up, not multiplied), the routers (their logits choose the
    /// experts) and the shared-expert gate stay in float32, as do matrices of any other width.
    /// </summary>
    public static bool Applies(string name, long[] shape) =>
        shape.Length == 2 && BlockWeights.CanQuantize(checked((int)shape[1]))
        && name != WeightNames.Embedding
        && !name.EndsWith(".mlp.gate.weight", StringComparison.Ordinal)
        && !name.EndsWith(".mlp.shared_expert_gate.weight", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="tensor"/> is a matrix held this way.</summary>
    public static bool IsHeld(Tensor tensor) => PrecisionOf(tensor) is not null;

    /// <summary>Int8 or Int4 for a matrix held this way, else null.</summary>
    public static DecodePrecision? PrecisionOf(Tensor tensor) => tensor.dtype switch
    {
        ScalarType.Int8 => DecodePrecision.Int8,
        ScalarType.Byte when tensor.dim() == 2 && tensor.stride(1) == 0 => DecodePrecision.Int4,
        _ => null,
    };

    /// <summary>Whether <paramref name="precision"/> is one this class holds matrices in.</summary>
    public static bool IsBlockPrecision(DecodePrecision precision) => precision is DecodePrecision.Int8 or DecodePrecision.Int4;

    /// <summary>
    /// A new handle to <paramref name="tensor"/> laid out row after row: <c>contiguous()</c>, except that a matrix held in
    /// int4 is returned as it is (torch would copy its packed bytes as if they were one weight each).
    /// </summary>
    public static Tensor Contiguous(Tensor tensor) => PrecisionOf(tensor) == DecodePrecision.Int4 ? tensor.detach() : tensor.contiguous();

    /// <summary>
    /// The <paramref name="precision"/> (Int8 or Int4) form of a float32 or bfloat16 matrix whose width is a whole number
    /// of blocks; the source is left as it is.
    /// </summary>
    public static Tensor Quantize(Tensor source, DecodePrecision precision)
    {
        using Tensor? widened = source.dtype == ScalarType.Float32 ? null : source.to(ScalarType.Float32);
        using Tensor contiguous = (widened ?? source).contiguous();
        FloatMatrix matrix = TensorMemory.Matrix(contiguous);
        long scaleBytes = (long)matrix.Rows * (matrix.Cols / Int8Matrix.BlockSize) * sizeof(float);
        if (precision == DecodePrecision.Int4)
        {
            long packed = (long)Int4Matrix.ValueBytes(matrix.Rows, matrix.Cols);
            using Tensor bytes = empty([packed + scaleBytes], ScalarType.Byte);
            byte* first = (byte*)TensorMemory.Key(bytes);
            // packed is a multiple of 16 bytes (a block), so the scales that follow are float-aligned.
            Int4Weights.Quantize(matrix, first, (float*)(first + packed));
            return bytes.as_strided([matrix.Rows, matrix.Cols], [matrix.Cols / 2, 0]).DetachFromDisposeScope();
        }
        long values = (long)matrix.Rows * matrix.Cols;
        using Tensor storage = empty([values + scaleBytes], ScalarType.Int8);
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
    public static WeightMatrix Matrix(Tensor held)
    {
        DecodePrecision? precision = PrecisionOf(held);
        if (precision is null || held.dim() != 2 || held.storage_offset() != 0 || !BlockWeights.CanQuantize(checked((int)held.shape[1]))
            || (precision == DecodePrecision.Int8 && !held.is_contiguous()))
        {
            throw new ArgumentException($"A {held.dtype} tensor [{string.Join(", ", held.shape)}] that is not a whole matrix held in int8 or int4 (a slice of one) has no block scales to read.", nameof(held));
        }
        int rows = checked((int)held.shape[0]), cols = checked((int)held.shape[1]);
        byte* values = (byte*)Address(held, precision.Value);
        return precision == DecodePrecision.Int4
            ? new Int4Matrix(values, (float*)(values + Int4Matrix.ValueBytes(rows, cols)), rows, cols)
            : new Int8Matrix((sbyte*)values, (float*)(values + ((long)rows * cols)), rows, cols);
    }

    // Where a held matrix's storage starts: an int4 matrix is read through a contiguous view of its packed bytes.
    private static nint Address(Tensor held, DecodePrecision precision)
    {
        if (precision == DecodePrecision.Int8)
        {
            return TensorMemory.Key(held);
        }
        using Tensor packed = held.as_strided([held.shape[0] * held.shape[1] / 2], [1]);
        return TensorMemory.Key(packed);
    }

    /// <summary>A float32 copy of a held matrix, w = d·q: what a TorchSharp product multiplies by.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Widen(Tensor held)
    {
        WeightMatrix source = Matrix(held);
        Tensor widened = empty([source.Rows, source.Cols], ScalarType.Float32);
        float* target = TensorMemory.Pointer(widened);
        // Each row through the decode kernel's own block reader would need x; one value at a time is exact and simple.
        for (int row = 0; row < source.Rows; row++)
        {
            source.WidenRow(row, target + ((long)row * source.Cols));
        }
        return widened;
    }

    /// <summary>
    /// x·Wᵀ (+ b) for a weight in any held precision: a held int8 or int4 matrix is widened for this product only (one
    /// matrix's float32 at a time), which keeps the TorchSharp path (evaluation, a CUDA-less fallback) exact for such models.
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
    /// scales live outside the tensors, and a writer would store the bare values as if they were the weights.
    /// </summary>
    /// <exception cref="NotSupportedException">The model holds matrices in int8 or int4.</exception>
    public static void RefuseHeld(Modules.LlamaModel model, string operation)
    {
        if (IsBlockPrecision(model.HeldPrecision))
        {
            throw new NotSupportedException(
                $"This model holds its weight matrices in {(model.HeldPrecision == DecodePrecision.Int4 ? "int4" : "int8")} ({nameof(LoadOptions)}.{nameof(LoadOptions.Precision)} = {model.HeldPrecision}), which is for running it; to {operation} it, open it in float32 (the default) or bfloat16.");
        }
    }
}
