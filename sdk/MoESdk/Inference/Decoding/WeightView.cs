using MoESdk.Inference.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// Raw views of a model's weight storage for the decode kernels. Views are resolved once per session (each
/// lookup crosses into libtorch) and stay valid while the model is alive: training updates weights in place,
/// so an adapted model's views see the new values.
/// </summary>
internal static unsafe class WeightView
{
    /// <summary>
    /// Whether the kernels can read <paramref name="tensor"/>: a contiguous float32 or bfloat16 CPU tensor, or a matrix
    /// held in int8 or int4 (<see cref="Loading.HeldBlocks"/>).
    /// </summary>
    public static bool IsReadable(Tensor tensor) =>
        tensor.device_type == DeviceType.CPU
        && (Loading.HeldBlocks.PrecisionOf(tensor) == DecodePrecision.Int4
            || (tensor.dtype is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Int8 && tensor.is_contiguous()));

    public static FloatMatrix Matrix(Tensor tensor) => TensorMemory.Matrix(tensor);

    public static float* Vector(Tensor tensor) => TensorMemory.Pointer(tensor);
}
