using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace MoESdk.Inference.Kernels;

/// <summary>The index of the largest logit, for greedy decoding; the first one wins a tie, as in torch.argmax.
/// Logits are expected to be finite.</summary>
internal static class Argmax
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Of(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("No values.", nameof(values));
        }
        // Find the maximum with vectors, then its first position: two cheap passes beat one branchy pass.
        ReadOnlySpan<Vector<float>> vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        float max = values[0];
        if (!vectors.IsEmpty)
        {
            Vector<float> best = vectors[0];
            foreach (Vector<float> v in vectors)
            {
                best = Vector.Max(best, v);
            }
            for (int lane = 0; lane < Vector<float>.Count; lane++)
            {
                max = MathF.Max(max, best[lane]);
            }
        }
        for (int i = vectors.Length * Vector<float>.Count; i < values.Length; i++)
        {
            max = MathF.Max(max, values[i]);
        }
        return values.IndexOf(max);
    }
}
