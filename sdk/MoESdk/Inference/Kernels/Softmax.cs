using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>Numerically stable softmax in place (the maximum is subtracted before exponentiating).</summary>
internal static class Softmax
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        float max = values[0];
        foreach (float v in values)
        {
            max = MathF.Max(max, v);
        }
        float sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float e = MathF.Exp(values[i] - max);
            values[i] = e;
            sum += e;
        }
        float inverse = 1f / sum;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= inverse;
        }
    }
}
