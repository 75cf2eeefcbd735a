namespace MoESdk.Loading;

/// <summary>How a model is loaded.</summary>
public sealed record LoadOptions
{
    /// <summary>Loads with every check on: the defaults.</summary>
    public static LoadOptions Default { get; } = new();

    /// <summary>
    /// Skips the scan for NaN and infinite weights (it reads every weight once more: about a tenth of a second
    /// per GB of weights, see docs/RESULTS.md). Only for files whose origin you trust; a corrupt file then
    /// loads and generates garbage.
    /// </summary>
    public bool TrustWeights { get; init; }
}
