namespace MoESdk.Serving;

/// <summary>Running counts of expert selections per layer and expert; safe for concurrent requests.</summary>
internal sealed class RoutingStatistics
{
    private readonly long[][] _counts;
    private long _tokens;

    public RoutingStatistics(IReadOnlyList<int> expertsPerLayer) => _counts = expertsPerLayer.Select(n => new long[n]).ToArray();

    /// <summary>Adds one request's counts [layer][expert] and the token positions it routed.</summary>
    public void Add(long[][] counts, long tokens)
    {
        for (int layer = 0; layer < _counts.Length; layer++)
        {
            for (int expert = 0; expert < _counts[layer].Length; expert++)
            {
                if (counts[layer][expert] != 0)
                {
                    Interlocked.Add(ref _counts[layer][expert], counts[layer][expert]);
                }
            }
        }
        Interlocked.Add(ref _tokens, tokens);
    }

    public RoutingSnapshot Snapshot() => new(
        Interlocked.Read(ref _tokens),
        _counts.Select((experts, layer) => new LayerRouting(layer, experts.Select((_, e) => Interlocked.Read(ref experts[e])).ToArray())).ToArray());
}
