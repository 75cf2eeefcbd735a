namespace MoESdk.Sweep;

/// <summary>The quality–speed trade-off of a sweep's points.</summary>
internal static class Frontier
{
    /// <summary>
    /// The points no other point beats on both axes (a higher decode speed-up with a perplexity ratio as low or lower,
    /// or as fast and strictly better), fastest last: the recipes worth choosing among.
    /// </summary>
    public static IReadOnlyList<SweepPoint> Of(IEnumerable<SweepPoint> points)
    {
        var all = points.ToArray();
        return all
            .Where(p => !all.Any(q => Dominates(q, p)))
            .OrderBy(p => p.DecodeSpeedup)
            .ThenBy(p => p.PerplexityRatio)
            .ToArray();
    }

    /// <summary>The fastest point whose perplexity ratio is at most <paramref name="maxPerplexityRatio"/>; null when none is.</summary>
    public static SweepPoint? FastestWithin(IEnumerable<SweepPoint> points, double maxPerplexityRatio) =>
        points.Where(p => p.PerplexityRatio <= maxPerplexityRatio)
            .OrderByDescending(p => p.DecodeSpeedup)
            .ThenBy(p => p.PerplexityRatio)
            .FirstOrDefault();

    private static bool Dominates(SweepPoint a, SweepPoint b) =>
        a.DecodeSpeedup >= b.DecodeSpeedup && a.PerplexityRatio <= b.PerplexityRatio
        && (a.DecodeSpeedup > b.DecodeSpeedup || a.PerplexityRatio < b.PerplexityRatio);
}
