using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Tests.Loading;

/// <summary>What the tests of held precisions (bfloat16, int8, int4) run on a model in every precision alike.</summary>
internal static class HeldModelRuns
{
    /// <summary>Every weight of an int8 or int4 matrix as float32 (d·q), row after row: equal only for the same values and scales.</summary>
    public static unsafe float[] Widened(MoESdk.Inference.Kernels.WeightMatrix matrix)
    {
        float[] weights = new float[(long)matrix.Rows * matrix.Cols];
        fixed (float* into = weights)
        {
            for (int row = 0; row < matrix.Rows; row++)
            {
                matrix.WidenRow(row, into + ((long)row * matrix.Cols));
            }
        }
        return weights;
    }

    /// <summary>The logits after <paramref name="text"/> fed at once (a prompt) and fed a token at a time.</summary>
    public static (float[] Prefill, float[] Stepped) PrefillAndSteps(LanguageModel model, string text)
    {
        IReadOnlyList<int> tokens = model.RequireTokenizer().Encode(text, addBos: false);
        using var prefilled = new InferenceSession(model.Model, 64);
        using var stepped = new InferenceSession(model.Model, 64);
        float[] prefill = prefilled.Feed(tokens).ToArray();
        float[] step = [];
        foreach (int token in tokens)
        {
            step = stepped.Feed([token]).ToArray();
        }
        return (prefill, step);
    }

    /// <summary>Four prompts' greedy texts, each generated alone and then all four at once (batched).</summary>
    public static async Task<(string[] Alone, string[] Together)> AloneAndBatched(MoEModel model)
    {
        string[] prompts = ["In the beginning", "And the LORD said", "Blessed is the man", "The earth is the LORD's"];
        var generation = new MoEGenerationOptions { MaxTokens = 24 };
        string[] alone = new string[prompts.Length];
        for (int i = 0; i < prompts.Length; i++)
        {
            alone[i] = (await model.GenerateAsync(prompts[i], generation)).Text;
        }
        string[] together = [.. (await Task.WhenAll(prompts.Select(p => model.GenerateAsync(p, generation)))).Select(r => r.Text)];
        return (alone, together);
    }
}
