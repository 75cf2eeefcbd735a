using MoESdk.Benchmarks.LlamaCpp;
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
    /// F16 (11 significant bits, the same rounding of activations): 8× finer, 0.05. Q8_0 (blocks of 32 values on
    /// 255 levels of the block's largest magnitude, activations quantized the same way): about bf16's error, 0.5. Q4_0 against
    /// MoESdk's int4: the same 4-bit weights on both sides (the same quantizer), so only llama.cpp's 8-bit activations differ: 0.5.
    /// </summary>
    /// <remarks>
    /// A fixed-scale (FactorLLM-style) MoE model folds its uniform expert weights into router logits scaled by a power
    /// of two (<c>MoEExportLayout.RouterScale</c>) that keeps each chosen expert's weight within 2⁻⁹ of uniform: outputs
    /// move by up to that fraction per layer (measured 0.004 to 0.013 on logits of 15 to 28), so float32 gets 0.03,
    /// still well under the 0.1 of a wrong tensor.
    /// </remarks>
    public static float Tolerance(GgufTensorType type, bool uniformRouter = false) => type switch
    {
        GgufTensorType.F32 when uniformRouter => 0.03f,
        GgufTensorType.F32 => 1e-4f,
        GgufTensorType.BF16 => 0.25f,
        GgufTensorType.F16 => 0.05f,
        GgufTensorType.Q8_0 => 0.5f,
        GgufTensorType.Q4_0 => 0.5f,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
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
            // Teacher-forced along MoESdk's greedy path: the steps where both pick the same token, and those where
            // they differ although MoESdk's best token leads its runner-up by more than the tolerance.
            int[] greedyPath = [.. prompt, .. expectedGreedy];
            float[][] ours = MoESdkReference.AllLogits(model.Model, greedyPath);
            float[][] theirs = llama.AllLogits(greedyPath);
            int agreeing = 0, firmDisagreements = 0;
            for (int step = 0; step < GreedyTokens; step++)
            {
                int position = prompt.Count - 1 + step;
                if (LlamaCppSteps.ArgMax(theirs[position]) == LlamaCppSteps.ArgMax(ours[position]))
                {
                    agreeing++;
                }
                else if (Margin(ours[position]) > Tolerance(type))
                {
                    firmDisagreements++;
                }
            }
            var result = new ParityResult(name, type, maxDiff, expected.Max(Math.Abs), matching, agreeing, firmDisagreements, expectedGreedy, actualGreedy, new FileInfo(path).Length);
            output?.WriteLine(result.ToString());
            if (float.IsNaN(maxDiff) || matching < GreedyTokens)
            {
                output?.WriteLine(LlamaCppModel.RecentLog());
            }
            return result;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>How far the best logit leads the runner-up.</summary>
    public static float Margin(float[] logits)
    {
        float[] top = logits.OrderDescending().Take(2).ToArray();
        return top[0] - top[1];
    }

    /// <summary>
    /// Asserts the logits agree within <see cref="Tolerance"/> and the greedy tokens are equal: all 32 generated
    /// freely for float32; for the 16-bit types, every step of MoESdk's greedy path except near-ties (best and
    /// runner-up closer than the tolerance, which that type's rounding may legitimately swap).
    /// </summary>
    public static void AssertParity(ParityResult result, bool uniformRouter = false)
    {
        float tolerance = Tolerance(result.Type, uniformRouter);
        Assert.True(result.MaxLogitDiff <= tolerance,
            $"{result.Name} {result.Type}: max logit difference {result.MaxLogitDiff:G3} exceeds {tolerance:G3}");
        if (result.Type != GgufTensorType.F32)
        {
            Assert.True(result.FirmDisagreements == 0,
                $"{result.Name} {result.Type}: {result.FirmDisagreements} greedy steps pick another token although MoESdk's choice leads by more than {tolerance:G3}");
            return;
        }
        Assert.True(result.GreedyMatch == GreedyTokens,
            $"{result.Name} {result.Type}: greedy tokens diverge after {result.GreedyMatch}: MoESdk [{string.Join(",", result.Expected)}], llama.cpp [{string.Join(",", result.Actual)}]");
    }
}

internal sealed record ParityResult(string Name, GgufTensorType Type, float MaxLogitDiff, float MaxAbsLogit, int GreedyMatch,
    int ForcedAgreement, int FirmDisagreements, int[] Expected, int[] Actual, long FileBytes)
{
    public override string ToString() =>
        $"PARITY | {Name} | {Type} | max logit diff {MaxLogitDiff:G3} (logits up to {MaxAbsLogit:G3}) | greedy {GreedyMatch}/{ExportParity.GreedyTokens} free, {ForcedAgreement}/{ExportParity.GreedyTokens} teacher-forced | {FileBytes} bytes";
}
