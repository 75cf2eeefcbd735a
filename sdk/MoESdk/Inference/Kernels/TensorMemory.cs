using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Views of the storage of contiguous CPU float32 tensors, for kernels that read weights and write
/// activations in place. The storage is native memory that does not move, so a view stays valid for as long
/// as the tensor is alive and is not resized; resolve views once (at load) rather than per call, since each
/// lookup crosses into libtorch.
/// </summary>
internal static unsafe class TensorMemory
{
    /// <summary>The address of the first element of <paramref name="tensor"/>.</summary>
    public static float* Pointer(Tensor tensor)
    {
        CheckLayout(tensor);
        return (float*)Address(tensor);
    }

    /// <summary>The bfloat16 elements of a contiguous bfloat16 CPU tensor, in place.</summary>
    public static ushort* BFloat16Pointer(Tensor tensor)
    {
        CheckLayout(tensor, ScalarType.BFloat16);
        return (ushort*)Address(tensor);
    }

    /// <summary>Where the storage of a contiguous CPU tensor of any type starts: a key for the tensor's weights.</summary>
    public static nint Key(Tensor tensor)
    {
        CheckLayout(tensor, tensor.dtype);
        return (nint)Address(tensor);
    }

    private static void* Address(Tensor tensor) => Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));

    /// <summary>The elements of <paramref name="tensor"/> as a span over its own storage.</summary>
    public static Span<float> Span(Tensor tensor)
    {
        CheckLayout(tensor);
        return MemoryMarshal.Cast<byte, float>(tensor.bytes);
    }

    /// <summary>A row-major matrix view of a 2-D tensor.</summary>
    public static FloatMatrix Matrix(Tensor tensor)
    {
        if (tensor.dim() != 2)
        {
            throw new ArgumentException($"Expected a 2-D tensor, got shape [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        }
        return new FloatMatrix(Pointer(tensor), checked((int)tensor.shape[0]), checked((int)tensor.shape[1]));
    }

    private static void CheckLayout(Tensor tensor, ScalarType type = ScalarType.Float32)
    {
        if (tensor.dtype != type || tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
        {
            throw new ArgumentException(
                $"Kernels need a contiguous {type} CPU tensor; got {tensor.dtype} on {tensor.device_type}"
                + (tensor.is_contiguous() ? "." : ", not contiguous."), nameof(tensor));
        }
    }
}
