namespace MoESdk.Evaluation;

/// <summary>Perplexity of one model on a text: exp of the mean negative log-likelihood per predicted token.</summary>
public sealed record PerplexityResult(double MeanNegativeLogLikelihood, long Tokens, int Windows, int WindowLength)
{
    public double Perplexity => Math.Exp(MeanNegativeLogLikelihood);

    /// <summary>
    /// Share of predicted tokens the model ranks first (next-token top-1 accuracy), in [0, 1]; null where the scorer
    /// did not measure it. It is what "performance kept" figures of MoE conversion papers compare.
    /// </summary>
    public double? TopOneAccuracy { get; init; }
}

/// <summary>
/// A reference model (usually dense) and a candidate (usually its MoE conversion) evaluated on the same
/// windows in one run: both perplexities and the mean per-token KL(reference ‖ candidate).
/// </summary>
internal sealed record ComparisonResult(PerplexityResult Reference, PerplexityResult Candidate, double MeanKlDivergence)
{
    /// <summary>Candidate over reference perplexity: 1 means no loss.</summary>
    public double PerplexityRatio => Candidate.Perplexity / Reference.Perplexity;

    /// <summary>
    /// Candidate's top-1 accuracy as a share of the reference's ("performance kept": 1 means no loss); null when
    /// either was not measured or the reference predicts nothing right.
    /// </summary>
    public double? AccuracyKept => Candidate.TopOneAccuracy is double candidate && Reference.TopOneAccuracy is double reference && reference > 0
        ? candidate / reference
        : null;
}
