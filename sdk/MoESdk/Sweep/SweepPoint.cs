namespace MoESdk.Sweep;

/// <summary>
/// What one recipe of a sweep measured against the dense model, on the sweep's evaluation text and machine: the recipe's
/// <c>moe convert</c> flags (its key in the sweep) and shape, the grid budget it was made for, the FFN share a token
/// actually uses, quality (perplexities, their ratio, mean KL, top-1 accuracy kept) and speed (batch-1 decode and
/// prefill tokens/s over the dense model's, measured interleaved in one process), and the conversion's time.
/// </summary>
internal sealed record SweepPoint(string Recipe, string Method, int Experts, int ExpertsPerToken, int SharedExperts, string Router, int TrainingSteps,
    double Budget, double ActiveFeedForwardRatio, double DensePerplexity, double MoEPerplexity, double PerplexityRatio, double MeanKlDivergence,
    double? AccuracyKept, double DecodeSpeedup, double PrefillSpeedup, double ConversionSeconds);
