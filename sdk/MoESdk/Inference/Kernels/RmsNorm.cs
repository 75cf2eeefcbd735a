using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace MoESdk.Inference.Kernels;

/// <summary>Root-mean-square normalization, y = x · rsqrt(mean(x²) + eps) · w, as in LLaMA.</summary>
internal static class RmsNorm
{
    /// <summary>Writes the normalized <paramref name="x"/> to <paramref name="y"/> (which may be <paramref name="x"/> itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float epsilon, Span<float> y)
    {
        if (weight.Length != x.Length || y.Length != x.Length)
        {
            throw new ArgumentException($"Lengths differ: x {x.Length}, weight {weight.Length}, y {y.Length}.");
        }
        ReadOnlySpan<Vector<float>> xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        Vector<float> squares = Vector<float>.Zero;
        foreach (Vector<float> v in xv)
        {
            squares += v * v;
        }
        float sum = Vector.Sum(squares);
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++)
        {
            sum += x[i] * x[i];
        }
        float inverse = 1f / MathF.Sqrt((sum / x.Length) + epsilon);

        ReadOnlySpan<Vector<float>> wv = MemoryMarshal.Cast<float, Vector<float>>(weight);
        Span<Vector<float>> yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        for (int i = 0; i < xv.Length; i++)
        {
            yv[i] = xv[i] * inverse * wv[i];
        }
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++)
        {
            y[i] = x[i] * inverse * weight[i];
        }
    }
}
