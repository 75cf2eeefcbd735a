using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Evaluation;

/// <summary>
/// Which experts each token of a text is routed to, in every Mixture-of-Experts layer: the text is run in
/// fixed windows (<see cref="TokenWindows"/>) and a <see cref="RoutingContext.Observer"/>
/// records its choices. The basis of expert load statistics and of picking the experts a domain uses.
/// </summary>
internal sealed class RoutingProfile
{
    private const int BatchWindows = 4;

    private readonly int[][] _chosen;
    private readonly int[] _experts;
    private readonly int[] _topK;

    private RoutingProfile(IReadOnlyList<int> tokens, int[][] chosen, int[] experts, int[] topK)
    {
        Tokens = tokens;
        _chosen = chosen;
        _experts = experts;
        _topK = topK;
    }

    /// <summary>The routed token ids, in text order (the inputs of the scored windows).</summary>
    public IReadOnlyList<int> Tokens { get; }

    public int Layers => _chosen.Length;

    /// <summary>Routed experts of <paramref name="layer"/>.</summary>
    public int ExpertCount(int layer) => _experts[layer];

    /// <summary>Experts chosen per token in <paramref name="layer"/>.</summary>
    public int TopK(int layer) => _topK[layer];

    /// <summary>The experts token <paramref name="position"/> ran in <paramref name="layer"/>, best-scored first.</summary>
    public ReadOnlySpan<int> ChosenExperts(int layer, int position) => _chosen[layer].AsSpan(position * _topK[layer], _topK[layer]);

    /// <summary>Per expert of <paramref name="layer"/>: tokens that ran it (a token counts once for each of its k experts).</summary>
    public long[] Counts(int layer)
    {
        var counts = new long[_experts[layer]];
        foreach (int expert in _chosen[layer])
        {
            counts[expert]++;
        }
        return counts;
    }

    /// <summary>Per expert: its share of the layer's expert slots (sums to 1; uniform is 1/experts).</summary>
    public double[] Shares(int layer)
    {
        long[] counts = Counts(layer);
        double total = counts.Sum();
        return counts.Select(c => c / total).ToArray();
    }

    /// <summary>Load imbalance of <paramref name="layer"/>: the busiest expert's count over the mean count (1 is perfectly balanced).</summary>
    public double Imbalance(int layer)
    {
        long[] counts = Counts(layer);
        return counts.Max() / counts.Average();
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> through <paramref name="model"/> in windows of <paramref name="windowLength"/>
    /// (at most <paramref name="maxWindows"/>) and records every layer's routing.
    /// </summary>
    /// <exception cref="ArgumentException">The model has a layer that is not a Mixture-of-Experts block.</exception>
    public static RoutingProfile Collect(LlamaModel model, IReadOnlyList<int> tokens, int windowLength = 128, int? maxWindows = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        MixtureOfExpertsFeedForward[] blocks = Blocks(model);
        var windows = new TokenWindows(tokens, windowLength, maxWindows);
        var chosen = blocks.Select(_ => new List<int>()).ToArray();
        var routing = new RoutingContext
        {
            Observer = (layer, indices, _) =>
            {
                List<int> sink = chosen[layer];
                foreach (long expert in indices)
                {
                    sink.Add((int)expert);
                }
            },
        };
        using (inference_mode())
        {
            for (int first = 0; first < windows.Count; first += BatchWindows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(BatchWindows, windows.Count - first);
                using var scope = NewDisposeScope();
                (long[] inputs, _) = windows.Batch(first, count);
                model.Forward(tensor(inputs, [count, windows.Length], device: model.Device), 0, null, lastTokenOnly: false, routing);
                progress?.Report(first + count);
            }
        }
        int routed = (int)windows.PredictedTokens;
        return new RoutingProfile(tokens.Take(routed).ToArray(), chosen.Select(c => c.ToArray()).ToArray(),
            blocks.Select(b => b.Experts.Count).ToArray(), blocks.Select(b => b.TopK).ToArray());
    }

    /// <summary>The model's Mixture-of-Experts blocks, one per layer, or an error saying the model is dense.</summary>
    internal static MixtureOfExpertsFeedForward[] Blocks(LlamaModel model)
    {
        var blocks = new MixtureOfExpertsFeedForward[model.Layers.Length];
        foreach (DecoderLayer layer in model.Layers)
        {
            blocks[layer.Index] = layer.FeedForward as MixtureOfExpertsFeedForward
                ?? throw new ArgumentException($"Layer {layer.Index} has a dense feed-forward block: routing needs a Mixture-of-Experts model (convert it first with moe convert).");
        }
        return blocks;
    }
}
