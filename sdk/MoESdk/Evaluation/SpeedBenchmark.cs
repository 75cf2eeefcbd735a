using System.Diagnostics;
using MoESdk.Inference;
using MoESdk.Modules;

namespace MoESdk.Evaluation;

/// <summary>Prefill and batch-1 decode speed of one model, median over repetitions.</summary>
/// <param name="PrefillTokensPerSecond">Prompt tokens processed per second.</param>
/// <param name="DecodeTokensPerSecond">Tokens generated per second, one at a time.</param>
internal sealed record SpeedResult(double PrefillTokensPerSecond, double DecodeTokensPerSecond);

/// <summary>
/// Measures models the way the project reports speed: after warm-up, several repetitions, subjects interleaved in one
/// process (so machine noise hits all alike), medians. Decode feeds back the argmax.
/// </summary>
internal static class SpeedBenchmark
{
    // precisions: each model's decode precision (null: float32 for all); a model may appear once per precision.
    public static IReadOnlyList<SpeedResult> Measure(IReadOnlyList<LlamaModel> models, int promptTokens = 64, int decodeTokens = 64, int repetitions = 5,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default, DecodeBackend backend = DecodeBackend.Kernels,
        IReadOnlyList<DecodePrecision>? precisions = null)
    {
        ISpeedSubject[] subjects = models.Select((m, i) => Session(m, promptTokens, decodeTokens, backend, precisions?[i] ?? DecodePrecision.Float32)).ToArray();
        try
        {
            return Measure(subjects, Prompt(promptTokens, models[0].Config.VocabSize), decodeTokens, repetitions, progress, cancellationToken);
        }
        finally
        {
            foreach (ISpeedSubject subject in subjects)
            {
                subject.Dispose();
            }
        }
    }

    /// <summary>A session of <paramref name="model"/> with room for the prompt and the decoded tokens, as a subject to measure.</summary>
    public static ISpeedSubject Session(LlamaModel model, int promptTokens, int decodeTokens, DecodeBackend backend, DecodePrecision precision) =>
        new SessionSubject(new InferenceSession(model, Math.Min(model.Config.MaxPositions, promptTokens + decodeTokens + 1), routing: null, backend, precision));

    /// <summary>
    /// Each subject's median speed over <paramref name="repetitions"/> rounds after one warm-up round; a round runs every
    /// subject once, in order. The subjects stay the caller's.
    /// </summary>
    public static IReadOnlyList<SpeedResult> Measure(IReadOnlyList<ISpeedSubject> subjects, int[] prompt, int decodeTokens, int repetitions,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var prefill = subjects.Select(_ => new List<double>()).ToArray();
        var decode = subjects.Select(_ => new List<double>()).ToArray();
        // Repetition 0 is warm-up and not counted.
        for (int rep = 0; rep <= repetitions; rep++)
        {
            for (int m = 0; m < subjects.Count; m++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (double prefillSeconds, double decodeSeconds) = subjects[m].Run(prompt, decodeTokens);
                if (rep > 0)
                {
                    prefill[m].Add(prompt.Length / prefillSeconds);
                    decode[m].Add(decodeTokens / decodeSeconds);
                }
            }
            progress?.Report(rep);
        }
        return subjects.Select((_, m) => new SpeedResult(Median(prefill[m]), Median(decode[m]))).ToArray();
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

    /// <summary>A model in one of this engine's sessions, reset before every run.</summary>
    private sealed class SessionSubject(InferenceSession session) : ISpeedSubject
    {
        public (double PrefillSeconds, double DecodeSeconds) Run(int[] prompt, int decodeTokens)
        {
            session.Reset();
            var clock = Stopwatch.StartNew();
            int next = TokenSampler.ArgMax(session.Feed(prompt));
            double prefillSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (int t = 0; t < decodeTokens; t++)
            {
                next = TokenSampler.ArgMax(session.Feed([next]));
            }
            return (prefillSeconds, clock.Elapsed.TotalSeconds);
        }

        public void Dispose() => session.Dispose();
    }
}
