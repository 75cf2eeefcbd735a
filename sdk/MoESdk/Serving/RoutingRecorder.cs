using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Serving;

/// <summary>
/// Collects one request's expert choices from the blocks' <see cref="MixtureOfExpertsFeedForward.RoutingObserver"/>.
/// The observers are shared module state, so they report to the recorder of the thread that runs the forward pass:
/// each request runs its whole generation on one thread, and concurrent requests never see each other's choices.
/// </summary>
internal sealed class RoutingRecorder : IDisposable
{
    [ThreadStatic]
    private static RoutingRecorder? t_current;

    private readonly int[][] _last;

    private RoutingRecorder(IReadOnlyList<int> expertsPerLayer)
    {
        Counts = expertsPerLayer.Select(n => new long[n]).ToArray();
        _last = new int[expertsPerLayer.Count][];
    }

    /// <summary>Selections of this request [layer][expert].</summary>
    public long[][] Counts { get; }

    /// <summary>Token positions routed by this request.</summary>
    public long Tokens { get; private set; }

    /// <summary>Points every block's observer at the recorder of the calling thread; done once per model.</summary>
    public static void Attach(IReadOnlyList<MixtureOfExpertsFeedForward> blocks)
    {
        for (int layer = 0; layer < blocks.Count; layer++)
        {
            int index = layer;
            blocks[layer].RoutingObserver = (chosen, k) => t_current?.Record(index, chosen, k);
        }
    }

    /// <summary>Starts recording the forward passes of the calling thread until disposed.</summary>
    public static RoutingRecorder Begin(IReadOnlyList<int> expertsPerLayer)
    {
        var recorder = new RoutingRecorder(expertsPerLayer);
        t_current = recorder;
        return recorder;
    }

    /// <summary>Per layer, the experts chosen at the last position of the last forward pass.</summary>
    public IReadOnlyList<IReadOnlyList<int>> LastChoices() => _last.Select(l => (IReadOnlyList<int>)(l ?? [])).ToArray();

    private void Record(int layer, ReadOnlySpan<long> chosen, int k)
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

    public void Dispose()
    {
        if (t_current == this)
        {
            t_current = null;
        }
    }
}
