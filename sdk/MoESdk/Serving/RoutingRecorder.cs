using MoESdk.Modules;

namespace MoESdk.Serving;

/// <summary>
/// Collects one request's expert choices: its <see cref="Record"/> is the observer of the request's own
/// <see cref="RoutingContext"/>, so concurrent requests never see each other's choices.
/// </summary>
internal sealed class RoutingRecorder
{
    private readonly int[][] _last;

    public RoutingRecorder(IReadOnlyList<int> expertsPerLayer)
    {
        Counts = expertsPerLayer.Select(n => new long[n]).ToArray();
        _last = new int[expertsPerLayer.Count][];
    }

    /// <summary>Selections of this request [layer][expert].</summary>
    public long[][] Counts { get; }

    /// <summary>Token positions routed by this request.</summary>
    public long Tokens { get; private set; }

    /// <summary>Per layer, the experts chosen at the last position of the last forward pass.</summary>
    public IReadOnlyList<IReadOnlyList<int>> LastChoices() => _last.Select(l => (IReadOnlyList<int>)(l ?? [])).ToArray();

    public void Record(int layer, ReadOnlySpan<long> chosen, int k)
    {
        long[] counts = Counts[layer];
        foreach (long expert in chosen)
        {
            counts[expert]++;
        }
        if (layer == 0)
        {
            Tokens += chosen.Length / k;
        }
        var last = new int[k];
        for (int i = 0; i < k; i++)
        {
            last[i] = (int)chosen[chosen.Length - k + i];
        }
        _last[layer] = last;
    }
}
