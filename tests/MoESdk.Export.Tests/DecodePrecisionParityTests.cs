using MoESdk.Benchmarks.LlamaCpp;
using MoESdk.Export;
using MoESdk.Inference;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// MoESdk's bfloat16, int8 and int4 decode against llama.cpp running the same weights exported as BF16, Q8_0 and Q4_0: every
/// position of a 32-token greedy path, decoded one token at a time through the kernels in that precision, within the
/// tolerance of that weight type (<see cref="ExportParity.Tolerance"/>), and no step where the two pick different
/// tokens unless MoESdk's choice is a near-tie.
/// </summary>
public sealed class DecodePrecisionParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("data/llama2c/rand-gqa-shared.bin", DecodePrecision.BFloat16, nameof(GgufTensorType.BF16))]
    [InlineData("kjv-llama", DecodePrecision.Int8, nameof(GgufTensorType.Q8_0))]
    [InlineData("kjv-llama", DecodePrecision.Int4, nameof(GgufTensorType.Q4_0))]
    public void LowerPrecisionDecodeMatchesLlamaCppAtThatPrecision(string source, DecodePrecision precision, string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, source));
        int[] prompt = [1, 17, 250, 33, 401, 5, 96, 123];
        string folder = Directory.CreateTempSubdirectory("moe-gguf-precision-").FullName;
        try
        {
            string gguf = Path.Combine(folder, "model.gguf");
            GgufExporter.Export(model, gguf, type);
            float[][] ours = DecodedLogits(model, prompt, ExportParity.GreedyTokens, precision, out int[] path);
            using LlamaCppModel llama = LlamaCppModel.Load(gguf, path.Length + 1);
            float[][] theirs = llama.AllLogits(path);

            float tolerance = ExportParity.Tolerance(type);
            float maxDiff = 0;
            int firmDisagreements = 0;
            for (int position = 0; position < ours.Length; position++)
            {
                maxDiff = Math.Max(maxDiff, ours[position].Zip(theirs[position], (o, t) => Math.Abs(o - t)).Max());
                if (LlamaCppSteps.ArgMax(ours[position]) != LlamaCppSteps.ArgMax(theirs[position]) && ExportParity.Margin(ours[position]) > tolerance)
                {
                    firmDisagreements++;
                }
            }
            output.WriteLine($"{source} {precision} vs llama.cpp {type}: max logit difference {maxDiff:G3} over {ours.Length} positions, {firmDisagreements} firm disagreements");
            Assert.True(maxDiff <= tolerance, $"max logit difference {maxDiff:G3} exceeds {tolerance:G3}");
            Assert.Equal(0, firmDisagreements);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Logits at every position of the prompt and of <paramref name="count"/> greedy tokens, each fed alone (the decode path).</summary>
    private static float[][] DecodedLogits(LanguageModel model, int[] prompt, int count, DecodePrecision precision, out int[] path)
    {
        using var session = new InferenceSession(model.Model, prompt.Length + count + 1, precision: precision);
        Assert.Equal(precision, session.Precision);
        var tokens = new List<int>(prompt);
        var logits = new List<float[]>();
        for (int i = 0; i < prompt.Length + count - 1; i++)
        {
            logits.Add(session.Feed([tokens[i]]).ToArray());
            if (i >= prompt.Length - 1)
            {
                tokens.Add(LlamaCppSteps.ArgMax(logits[^1]));
            }
        }
        path = [.. tokens];
        return [.. logits];
    }
}
