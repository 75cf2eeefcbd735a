using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate halves" convention: within each head, the pair
/// (x[i], x[i + d/2]) is rotated by the angle pos · θ^(-2i/d). Tables are [positions, d/2], one row per position.
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>Fills the cosine and sine tables for positions [0, <paramref name="positions"/>).</summary>
    public static void FillTables(int positions, int headDim, float theta, Span<float> cos, Span<float> sin)
    {
        int half = headDim / 2;
        if (headDim % 2 != 0 || cos.Length != positions * half || sin.Length != cos.Length)
        {
            throw new ArgumentException($"Tables must be [{positions}, {half}] for an even head size, got {cos.Length} and {sin.Length} elements.");
        }
        for (int i = 0; i < half; i++)
        {
            double frequency = Math.Pow(theta, -2.0 * i / headDim);
            for (int p = 0; p < positions; p++)
            {
                double angle = p * frequency;
                cos[(p * half) + i] = (float)Math.Cos(angle);
                sin[(p * half) + i] = (float)Math.Sin(angle);
            }
        }
    }

    /// <summary>
    /// Rotates every head of <paramref name="x"/> ([heads, headDim]) in place by one position's table rows
    /// (<paramref name="cos"/> and <paramref name="sin"/> of length headDim/2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> x, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = headDim / 2;
        if (headDim % 2 != 0 || x.Length % headDim != 0 || cos.Length != half || sin.Length != half)
        {
            throw new ArgumentException($"Expected [heads, {headDim}] input and table rows of {half}.");
        }
        for (int head = 0; head < x.Length; head += headDim)
        {
            Span<float> first = x.Slice(head, half);
            Span<float> second = x.Slice(head + half, half);
            for (int i = 0; i < first.Length; i++)
            {
                float a = first[i];
                float b = second[i];
                first[i] = (a * cos[i]) - (b * sin[i]);
                second[i] = (b * cos[i]) + (a * sin[i]);
            }
        }
    }
}
