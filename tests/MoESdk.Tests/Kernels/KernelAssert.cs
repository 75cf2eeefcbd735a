namespace MoESdk.Tests.Kernels;

internal static class KernelAssert
{
    /// <summary>Every element within <paramref name="tolerance"/> of the reference, relative to the reference's largest magnitude.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = 1f;
        foreach (float e in expected)
        {
            scale = MathF.Max(scale, MathF.Abs(e));
        }
        for (int i = 0; i < expected.Length; i++)
        {
            float error = MathF.Abs(expected[i] - actual[i]);
            Assert.True(error <= tolerance * scale, $"element {i}: expected {expected[i]}, got {actual[i]} (error {error}, scale {scale})");
        }
    }
}
