using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Evaluation;

/// <summary>Scores models on token windows: perplexity of one model, or a reference and a candidate compared.</summary>
internal static class ModelEvaluator
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
        long correct = 0;
        ForEachBatch(windows, model.Device, progress, cancellationToken, (inputs, targets) =>
        {
            Tensor logProbabilities = model.forward(inputs).log_softmax(-1);
            nll += -logProbabilities.gather(-1, targets.unsqueeze(-1)).sum().item<float>();
            correct += CountTopOne(logProbabilities, targets);
        });
        return Result(nll, correct, windows);
    }

    /// <summary>Perplexity of both models and mean KL(reference ‖ candidate) per token, on the same windows.</summary>
    public static ComparisonResult Compare(LlamaModel reference, LlamaModel candidate, TokenWindows windows, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        double referenceNll = 0, candidateNll = 0, kl = 0;
        long referenceCorrect = 0, candidateCorrect = 0;
        ForEachBatch(windows, reference.Device, progress, cancellationToken, (inputs, targets) =>
        {
            Tensor p = reference.forward(inputs).log_softmax(-1);
            Tensor q = candidate.forward(inputs).log_softmax(-1);
            Tensor index = targets.unsqueeze(-1);
            referenceNll += -p.gather(-1, index).sum().item<float>();
            candidateNll += -q.gather(-1, index).sum().item<float>();
            kl += (p.exp() * (p - q)).sum().item<float>();
            referenceCorrect += CountTopOne(p, targets);
            candidateCorrect += CountTopOne(q, targets);
        });
        return new ComparisonResult(Result(referenceNll, referenceCorrect, windows), Result(candidateNll, candidateCorrect, windows), kl / windows.PredictedTokens);
    }

    /// <summary>
    /// Perplexity as generation computes it: every window decoded one token at a time through the session's decode path
    /// (the kernels, reading the weights in <paramref name="precision"/>), so lower-precision weights are scored exactly
    /// as they serve. Slower than <see cref="Perplexity"/>, which runs whole windows through TorchSharp in float32.
    /// </summary>
    internal static PerplexityResult DecodePerplexity(LlamaModel model, TokenWindows windows, Inference.DecodePrecision precision,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        double nll = 0;
        long correct = 0;
        using var session = new Inference.InferenceSession(model, windows.Length, precision: precision);
        for (int w = 0; w < windows.Count; w++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (long[] inputs, long[] targets) = windows.Batch(w, 1);
            session.Reset();
            for (int i = 0; i < inputs.Length; i++)
            {
                ReadOnlySpan<float> logits = session.Feed([(int)inputs[i]]);
                nll += NegativeLogLikelihood(logits, (int)targets[i]);
                correct += Inference.TokenSampler.ArgMax(logits) == targets[i] ? 1 : 0;
            }
            progress?.Report(w + 1);
        }
        return Result(nll, correct, windows);
    }

    // -log softmax(logits)[target], in double: log-sum-exp around the largest logit.
    private static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            max = MathF.Max(max, l);
        }
        double sum = 0;
        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }
        return max + Math.Log(sum) - logits[target];
    }

    private static PerplexityResult Result(double nll, long correct, TokenWindows windows) =>
        new(nll / windows.PredictedTokens, windows.PredictedTokens, windows.Count, windows.Length)
        {
            TopOneAccuracy = (double)correct / windows.PredictedTokens,
        };

    /// <summary>Positions whose most likely token is the target.</summary>
    private static long CountTopOne(Tensor logProbabilities, Tensor targets) =>
        logProbabilities.argmax(-1).eq(targets).sum().item<long>();

    private static void ForEachBatch(TokenWindows windows, Device device, IProgress<int>? progress, CancellationToken cancellationToken, Action<Tensor, Tensor> score)
    {
        using var inference = inference_mode();
        for (int first = 0; first < windows.Count; first += BatchWindows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(BatchWindows, windows.Count - first);
            using var scope = NewDisposeScope();
            (long[] inputs, long[] targets) = windows.Batch(first, count);
            score(tensor(inputs, [count, windows.Length], device: device), tensor(targets, [count, windows.Length], device: device));
            progress?.Report(first + count);
        }
    }
}
