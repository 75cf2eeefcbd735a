using MoESdk.Modules;

namespace MoESdk.Evaluation;

/// <summary>
/// Weights a batch-1 decode step reads. Decode is memory-bound, so the ideal speed ratio of two models is
/// the inverse ratio of what they read per token: attention, norms, the output head and the active FFN
/// (one embedding row is negligible).
/// </summary>
internal static class DecodeTraffic
{
    /// <summary>Parameters read per generated token.</summary>
    public static long ParametersPerToken(LlamaModel model)
    {
        ParameterCounts counts = model.CountParameters();
        long head = (long)model.Config.VocabSize * model.Config.HiddenSize;
        return counts.Attention + counts.Norms + counts.FeedForwardActive + head;
    }

    /// <summary>The decode speed ratio of <paramref name="candidate"/> over <paramref name="reference"/> a perfectly memory-bound engine would reach.</summary>
    public static double IdealSpeedup(LlamaModel reference, LlamaModel candidate) =>
        (double)ParametersPerToken(reference) / ParametersPerToken(candidate);
}
