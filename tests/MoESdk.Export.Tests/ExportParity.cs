using MoESdk.Export;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// Exports a model to GGUF, runs the file in llama.cpp and MoESdk's model on the same token ids, and compares the
/// last position's logits and 32 greedy tokens.
/// </summary>
internal static class ExportParity
{
    public const int GreedyTokens = 32;

    /// <summary>
    /// Largest logit difference accepted, per weight type. Float32: both sides compute in float32 and differ
    /// only by summation order, ~1e-6 relative per dot product (measured: about 1e-5 on logits of 10 to 15); 1e-4 leaves room for that to grow through the
    /// layers and softmaxes of these small models while any wrong tensor, order or scale moves logits by 0.1 or more.
    /// BF16: llama.cpp rounds the weights and the activations entering each matrix product to bfloat16 (8
    /// significant bits, relative error up to 2⁻⁹), so logits move by a few hundredths; 0.25 bounds that.
    /// </summary>
    public static float Tolerance(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 1e-4f,
        GgufTensorType.BF16 => 0.25f,
        GgufTensorType.F16 => 0.05f,
        _ => 0.5f,
    };

    public static ParityResult Measure(LanguageModel model, GgufTensorType type, IReadOnlyList<int> prompt, string name, ITestOutputHelper? output = null)
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-").FullName;
        try
        {
            string path = Path.Combine(folder, "model.gguf");
            GgufExporter.Export(model, path, type);
            float[] expected = MoESdkReference.LastLogits(model.Model, prompt);
            int[] expectedGreedy = MoESdkReference.Greedy(model.Model, prompt, GreedyTokens);
            using LlamaCppModel llama = LlamaCppModel.Load(path, Math.Min(model.Model.Config.MaxPositions, 256));
            float[] actual = llama.LastLogits(prompt);
            int[] actualGreedy = llama.Greedy(prompt, GreedyTokens);
            Assert.Equal(expected.Length, actual.Length);
            float maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            int matching = expectedGreedy.Zip(actualGreedy).TakeWhile(p => p.First == p.Second).Count();
            var result = new ParityResult(name, type, maxDiff, expected.Max(Math.Abs), matching, expectedGreedy, actualGreedy, new FileInfo(path).Length);
            output?.WriteLine(result.ToString());
            return result;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Asserts the logits agree within <see cref="Tolerance"/> and all greedy tokens are equal.</summary>
    public static void AssertParity(ParityResult result)
    {
        Assert.True(result.MaxLogitDiff <= Tolerance(result.Type),
            $"{result.Name} {result.Type}: max logit difference {result.MaxLogitDiff:G3} exceeds {Tolerance(result.Type):G3}");
        Assert.True(result.GreedyMatch == GreedyTokens,
            $"{result.Name} {result.Type}: greedy tokens diverge after {result.GreedyMatch}: MoESdk [{string.Join(",", result.Expected)}], llama.cpp [{string.Join(",", result.Actual)}]");
    }
}

internal sealed record ParityResult(string Name, GgufTensorType Type, float MaxLogitDiff, float MaxAbsLogit, int GreedyMatch, int[] Expected, int[] Actual, long FileBytes)
{
    public override string ToString() =>
        $"PARITY | {Name} | {Type} | max logit diff {MaxLogitDiff:G3} (logits up to {MaxAbsLogit:G3}) | greedy {GreedyMatch}/{ExportParity.GreedyTokens} | {FileBytes} bytes";
}
