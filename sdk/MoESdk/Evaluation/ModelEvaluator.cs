using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Evaluation;

/// <summary>Scores models on token windows: perplexity of one model, or a reference and a candidate compared.</summary>
public static class ModelEvaluator
{
    /// <summary>Windows evaluated per forward pass.</summary>
    private const int BatchWindows = 4;

    /// <param name="model">Model to score.</param>
    /// <param name="windows">The text, split into windows.</param>
    /// <param name="progress">Receives the number of windows done.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public static PerplexityResult Perplexity(LlamaModel model, TokenWindows windows, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        double nll = 0;
        ForEachBatch(windows, progress, cancellationToken, (inputs, targets) =>
        {
            Tensor logProbabilities = model.forward(inputs).log_softmax(-1);
            nll += -logProbabilities.gather(-1, targets.unsqueeze(-1)).sum().item<float>();
        });
        return new PerplexityResult(nll / windows.PredictedTokens, windows.PredictedTokens, windows.Count, windows.Length);
    }

    /// <summary>Perplexity of both models and mean KL(reference ‖ candidate) per token, on the same windows.</summary>
    public static ComparisonResult Compare(LlamaModel reference, LlamaModel candidate, TokenWindows windows, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        double referenceNll = 0, candidateNll = 0, kl = 0;
        ForEachBatch(windows, progress, cancellationToken, (inputs, targets) =>
        {
            Tensor p = reference.forward(inputs).log_softmax(-1);
            Tensor q = candidate.forward(inputs).log_softmax(-1);
            Tensor index = targets.unsqueeze(-1);
            referenceNll += -p.gather(-1, index).sum().item<float>();
            candidateNll += -q.gather(-1, index).sum().item<float>();
            kl += (p.exp() * (p - q)).sum().item<float>();
        });
        long tokens = windows.PredictedTokens;
        return new ComparisonResult(
            new PerplexityResult(referenceNll / tokens, tokens, windows.Count, windows.Length),
            new PerplexityResult(candidateNll / tokens, tokens, windows.Count, windows.Length),
            kl / tokens);
    }

    private static void ForEachBatch(TokenWindows windows, IProgress<int>? progress, CancellationToken cancellationToken, Action<Tensor, Tensor> score)
    {
        using var inference = inference_mode();
        for (int first = 0; first < windows.Count; first += BatchWindows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(BatchWindows, windows.Count - first);
            using var scope = NewDisposeScope();
            (long[] inputs, long[] targets) = windows.Batch(first, count);
            score(tensor(inputs, [count, windows.Length]), tensor(targets, [count, windows.Length]));
            progress?.Report(first + count);
        }
    }
}
