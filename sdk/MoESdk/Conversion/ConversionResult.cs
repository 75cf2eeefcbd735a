using MoESdk.Modules;

namespace MoESdk.Conversion;

/// <summary>
/// A converted model and what made it. <see cref="Model"/> shares attention and embeddings with the dense
/// model it came from, which must stay alive while it is used.
/// </summary>
public sealed record ConversionResult(LlamaModel Model, string Partition, string Router, ExpertOutputRule OutputRule,
    IReadOnlyDictionary<string, string> Parameters, long CalibrationTokens, TimeSpan Duration)
{
    /// <summary>
    /// Feed-forward parameters a token uses, routers included, over the dense model's feed-forward parameters. Over the
    /// dense model's, not the converted model's own total: ToMoE's experts together hold more than the dense FFN.
    /// </summary>
    internal double ActiveFeedForwardRatio(LlamaModel dense) => (double)Model.CountParameters().FeedForwardActive / dense.CountParameters().FeedForward;
}
