using MoESdk.Evaluation;
using MoESdk.Modules;
using MoESdk.Tests.Conversion;
using static TorchSharp.torch;

namespace MoESdk.Tests.Evaluation;

[Trait("Category", "Unit")]
public sealed class TopOneAccuracyTests
{
    [Fact]
    public void AccuracyIsTheShareOfTargetsTheModelRanksFirstAndAModelKeepsAllOfItsOwn()
    {
        using LlamaModel model = TinyModel.Dense(seed: 3);
        // Half the targets are the model's own greedy choices, so the accuracy is far from 0 and from 1.
        int[] tokens = GreedyThenRandom(model, length: 64);
        var windows = new TokenWindows(tokens, 16);

        PerplexityResult result = ModelEvaluator.Perplexity(model, windows);

        Assert.Equal(CountTopOne(model, windows) / (double)windows.PredictedTokens, result.TopOneAccuracy!.Value, 12);
        Assert.InRange(result.TopOneAccuracy!.Value, 0.1, 0.9);
        ComparisonResult self = ModelEvaluator.Compare(model, model, windows);
        Assert.Equal(1.0, self.AccuracyKept!.Value, 12);
        Assert.Equal(result.TopOneAccuracy, self.Reference.TopOneAccuracy);
    }

    /// <summary>The count the evaluator should find, by looking at each position's logits one by one.</summary>
    private static long CountTopOne(LlamaModel model, TokenWindows windows)
    {
        using var inference = inference_mode();
        long correct = 0;
        for (int w = 0; w < windows.Count; w++)
        {
            using var scope = NewDisposeScope();
            (long[] inputs, long[] targets) = windows.Batch(w, 1);
            float[] logits = model.forward(tensor(inputs, [1, windows.Length])).to_type(ScalarType.Float32).data<float>().ToArray();
            int vocabulary = logits.Length / windows.Length;
            for (int position = 0; position < windows.Length; position++)
            {
                ReadOnlySpan<float> row = logits.AsSpan(position * vocabulary, vocabulary);
                int best = 0;
                for (int v = 1; v < vocabulary; v++)
                {
                    best = row[v] > row[best] ? v : best;
                }
                correct += best == targets[position] ? 1 : 0;
            }
        }
        return correct;
    }

    private static int[] GreedyThenRandom(LlamaModel model, int length)
    {
        var random = new Random(5);
        var tokens = new List<int> { 1 };
        using var inference = inference_mode();
        while (tokens.Count < length)
        {
            using var scope = NewDisposeScope();
            Tensor logits = model.forward(tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count]));
            int greedy = (int)logits[0, -1].argmax().item<long>();
            tokens.Add(tokens.Count % 2 == 0 ? greedy : random.Next(model.Config.VocabSize));
        }
        return [.. tokens];
    }
}
