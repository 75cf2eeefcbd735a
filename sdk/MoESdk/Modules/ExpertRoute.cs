using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// How one block routes in one run: how many experts each token runs through, and which experts a routing policy
/// forbids or forces. Its <see cref="Select(ReadOnlySpan{float}, Span{int})"/> is the one top-k selection of the SDK:
/// the TorchSharp forward pass and the decode kernels both choose through it, so they choose the same experts.
/// </summary>
internal sealed class ExpertRoute
{
    private readonly float[]? _mask;

    internal ExpertRoute(int experts, int expertsPerToken, float[]? mask)
    {
        Experts = experts;
        ExpertsPerToken = expertsPerToken;
        _mask = mask;
    }

    /// <summary>Routed experts of the block.</summary>
    public int Experts { get; }

    /// <summary>Experts each token runs through.</summary>
    public int ExpertsPerToken { get; }

    /// <summary>FactorLLM's N/k scale of the <see cref="ExpertOutputRule.FixedScale"/> rule for this top-k.</summary>
    public float FixedScale => (float)Experts / ExpertsPerToken;

    /// <summary>
    /// Chooses the <see cref="ExpertsPerToken"/> experts with the largest router logits for one token, best first (ties
    /// to the lower index), into <paramref name="chosen"/>. A policy's mask (−∞ disabled, +∞ pinned) is added for
    /// choosing only; the chosen experts are weighed by their own logits.
    /// </summary>
    public void Select(ReadOnlySpan<float> logits, Span<int> chosen)
    {
        ReadOnlySpan<float> mask = _mask;
        // One flag per expert, not a search of the experts chosen so far: fine-grained layers pick 32 of 128 and more.
        Span<bool> taken = logits.Length <= 1024 ? stackalloc bool[logits.Length] : new bool[logits.Length];
        taken.Clear();
        for (int i = 0; i < ExpertsPerToken; i++)
        {
            int best = -1;
            float bestScore = 0;
            for (int e = 0; e < logits.Length; e++)
            {
                float score = mask.IsEmpty ? logits[e] : logits[e] + mask[e];
                if (!taken[e] && (best < 0 || score > bestScore))
                {
                    best = e;
                    bestScore = score;
                }
            }
            chosen[i] = best;
            taken[best] = true;
        }
    }

    /// <summary>The chosen experts [tokens, k] (int64, on the logits' device) for router logits [tokens, N].</summary>
    public Tensor Select(Tensor logits)
    {
        using var scope = NewDisposeScope();
        int k = ExpertsPerToken;
        float[] scores = logits.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        int tokens = scores.Length / Experts;
        var chosen = new int[k];
        var indices = new long[tokens * k];
        for (int t = 0; t < tokens; t++)
        {
            Select(scores.AsSpan(t * Experts, Experts), chosen);
            for (int i = 0; i < k; i++)
            {
                indices[(t * k) + i] = chosen[i];
            }
        }
        return tensor(indices, [tokens, k], device: logits.device).MoveToOuterDisposeScope();
    }
}
