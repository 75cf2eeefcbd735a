using System.Diagnostics;
using MoESdk.Inference;
using MoESdk.Modules;

namespace MoESdk.Evaluation;

/// <summary>Prefill and batch-1 decode speed of one model, median over repetitions.</summary>
/// <param name="PrefillTokensPerSecond">Prompt tokens processed per second.</param>
/// <param name="DecodeTokensPerSecond">Tokens generated per second, one at a time.</param>
internal sealed record SpeedResult(double PrefillTokensPerSecond, double DecodeTokensPerSecond);

/// <summary>
/// Measures models the way the project reports speed: after warm-up, several repetitions, models
/// interleaved in one process (so machine noise hits all alike), medians. Decode feeds back the argmax.
/// </summary>
internal static class SpeedBenchmark
{
    // precisions: each model's decode precision (null: float32 for all); a model may appear once per precision.
    public static IReadOnlyList<SpeedResult> Measure(IReadOnlyList<LlamaModel> models, int promptTokens = 64, int decodeTokens = 64, int repetitions = 5,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default, DecodeBackend backend = DecodeBackend.Kernels,
        IReadOnlyList<DecodePrecision>? precisions = null)
    {
        int[] prompt = Prompt(promptTokens, models[0].Config.VocabSize);
        var prefill = models.Select(_ => new List<double>()).ToArray();
        var decode = models.Select(_ => new List<double>()).ToArray();
        var sessions = models.Select((m, i) => new InferenceSession(m, Math.Min(m.Config.MaxPositions, promptTokens + decodeTokens + 1), routing: null, backend,
            precision: precisions?[i] ?? DecodePrecision.Float32)).ToArray();
        try
        {
            // Repetition 0 is warm-up and not counted.
            for (int rep = 0; rep <= repetitions; rep++)
            {
                for (int m = 0; m < models.Count; m++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    InferenceSession session = sessions[m];
                    session.Reset();
                    var clock = Stopwatch.StartNew();
                    int next = TokenSampler.ArgMax(session.Feed(prompt));
                    double prefillSeconds = clock.Elapsed.TotalSeconds;
                    clock.Restart();
                    for (int t = 0; t < decodeTokens; t++)
                    {
                        next = TokenSampler.ArgMax(session.Feed([next]));
                    }
                    double decodeSeconds = clock.Elapsed.TotalSeconds;
                    if (rep > 0)
                    {
                        prefill[m].Add(promptTokens / prefillSeconds);
                        decode[m].Add(decodeTokens / decodeSeconds);
                    }
                }
                progress?.Report(rep);
            }
        }
        finally
        {
            foreach (InferenceSession session in sessions)
            {
                session.Dispose();
            }
        }
        return models.Select((_, m) => new SpeedResult(Median(prefill[m]), Median(decode[m]))).ToArray();
    }

    /// <summary>The prompt every measurement feeds: fixed ids spread over the vocabulary, so runs and engines see the same tokens.</summary>
    internal static int[] Prompt(int tokens, int vocab) => Enumerable.Range(0, tokens).Select(i => (i * 7919 + 13) % vocab).ToArray();

    /// <summary>The median of <paramref name="values"/> (sorts them).</summary>
    internal static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
