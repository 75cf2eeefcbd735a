namespace MoESdk.Evaluation;

/// <summary>Perplexity of one model on a text: exp of the mean negative log-likelihood per predicted token.</summary>
public sealed record PerplexityResult(double MeanNegativeLogLikelihood, long Tokens, int Windows, int WindowLength)
{
    public double Perplexity => Math.Exp(MeanNegativeLogLikelihood);
}

/// <summary>
/// A reference model (usually dense) and a candidate (usually its MoE conversion) evaluated on the same
/// windows in one run: both perplexities and the mean per-token KL(reference ‖ candidate).
/// </summary>
public sealed record ComparisonResult(PerplexityResult Reference, PerplexityResult Candidate, double MeanKlDivergence)
{
    /// <summary>Candidate over reference perplexity: 1 means no loss.</summary>
    public double PerplexityRatio => Candidate.Perplexity / Reference.Perplexity;
}
