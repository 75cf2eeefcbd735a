using TorchSharp;

namespace MoESdk.Modules;

/// <summary>
/// Scalars the forward pass passes to libtorch, made once and kept. TorchSharp 0.107 turns a number into a native scalar
/// per call and leaves it to the garbage collector; when a collection runs during the native call, the finalizer can
/// free that scalar while libtorch still reads it ("INTERNAL ASSERT FAILED ... Scalar.h"). A scalar that a static field
/// roots is never finalized, so the ops on every token's path (residual adds, norms, rotations, expert sums) use these.
/// </summary>
internal static class TorchScalars
{
    /// <summary>The alpha of a plain <c>a + b</c>.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>The alpha of <c>a - b</c> written as an add: exact, since negating b is exact.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();
}
