using MoESdk.Evaluation;
using MoESdk.Modules;

namespace MoESdk.Cli;

/// <summary>
/// How <c>convert</c> and <c>sweep</c> measure a conversion against its dense model, so that their numbers compare:
/// the same held-out windows, and the same decode/prefill timing.
/// </summary>
internal static class ConversionMeasurement
{
    private const int WindowLength = 128, MaxWindows = 32, PromptTokens = 64, DecodeTokens = 32;

    /// <summary>Perplexity of both, KL and top-1 accuracy on up to 32 windows of 128 tokens of <paramref name="evaluationTokens"/>.</summary>
    public static ComparisonResult Quality(LlamaModel dense, LlamaModel moe, IReadOnlyList<int> evaluationTokens, IStageProgress stages,
        CancellationToken cancellationToken)
    {
        var windows = new TokenWindows(evaluationTokens, WindowLength, MaxWindows);
        stages.Report("evaluating", 0, windows.Count);
        return ModelEvaluator.Compare(dense, moe, windows, new SynchronousProgress<int>(d => stages.Report("evaluating", d, windows.Count)), cancellationToken);
    }

    /// <summary>Prefill (64 tokens) and decode (32 tokens) speed of both, interleaved, medians of <paramref name="repetitions"/>.</summary>
    public static IReadOnlyList<SpeedResult> Speed(LlamaModel dense, LlamaModel moe, int repetitions, IStageProgress stages, CancellationToken cancellationToken)
    {
        stages.Report("timing", 0, repetitions);
        return SpeedBenchmark.Measure([dense, moe], PromptTokens, DecodeTokens, repetitions,
            new SynchronousProgress<int>(r => stages.Report("timing", r, repetitions)), cancellationToken);
    }
}
