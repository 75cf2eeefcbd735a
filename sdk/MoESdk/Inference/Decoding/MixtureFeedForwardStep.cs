using MoESdk.Inference.Kernels;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// A Mixture-of-Experts block for one token: score the experts, run only the top k (each reads only its own
/// rows), plus the shared experts. Top-k, the routing policy and the routing observer are read from the block at every step, so
/// a per-request top-k override, routing policy and routing statistics work on this path exactly as on the torch path.
/// </summary>
internal sealed class MixtureFeedForwardStep : IFeedForwardStep
{
    private readonly MixtureOfExpertsFeedForward _block;
    private readonly FloatMatrix _router;
    private readonly SwiGluWeights[] _experts;
    private readonly SwiGluWeights[] _shared;
    private readonly float[] _logits;
    private readonly int[] _chosen;
    private readonly float[] _weights;
    private readonly long[] _observed;

    public MixtureFeedForwardStep(MixtureOfExpertsFeedForward block)
    {
        _block = block;
        _router = WeightView.Matrix(block.Router.Weight);
        _experts = block.Experts.Select(WeightView.SwiGlu).ToArray();
        _shared = block.SharedExperts.Select(WeightView.SwiGlu).ToArray();
        _logits = new float[_experts.Length];
        _chosen = new int[_experts.Length];
        _weights = new float[_experts.Length];
        _observed = new long[_experts.Length];
        ScratchWidth = _experts.Concat(_shared).Max(e => e.Hidden);
    }

    public int ScratchWidth { get; }

    public void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> scratch, Span<float> residual)
    {
        int k = _block.ExpertsPerToken;
        MatVec.Multiply(pool, _router, x, _logits);
        SelectTopK(k);
        foreach (SwiGluWeights shared in _shared)
        {
            SwiGluFeedForward.Accumulate(pool, shared, x, scratch[..shared.Hidden], 1f, residual);
        }
        for (int i = 0; i < k; i++)
        {
            SwiGluWeights expert = _experts[_chosen[i]];
            SwiGluFeedForward.Accumulate(pool, expert, x, scratch[..expert.Hidden], _weights[i], residual);
        }
        if (_block.RoutingObserver is { } observer)
        {
            for (int i = 0; i < k; i++)
            {
                _observed[i] = _chosen[i];
            }
            observer(_observed.AsSpan(0, k), k);
        }
    }

    // The k largest router logits, best first (what topk returns), and each chosen expert's output weight. A routing
    // policy's mask (−∞ disabled, +∞ pinned) is added for choosing only, as on the torch path; weights use the logits.
    private void SelectTopK(int k)
    {
        ReadOnlySpan<float> mask = _block.SelectionMask;
        for (int i = 0; i < k; i++)
        {
            int best = -1;
            float bestScore = 0;
            for (int e = 0; e < _logits.Length; e++)
            {
                float score = mask.IsEmpty ? _logits[e] : _logits[e] + mask[e];
                if (!IsChosen(e, i) && (best < 0 || score > bestScore))
                {
                    best = e;
                    bestScore = score;
                }
            }
            _chosen[i] = best;
        }
        if (_block.OutputRule == ExpertOutputRule.FixedScale)
        {
            _weights.AsSpan(0, k).Fill(_block.FixedScale);
            return;
        }
        // Router-weighted: softmax over the chosen experts' logits.
        float max = float.NegativeInfinity, sum = 0;
        for (int i = 0; i < k; i++)
        {
            max = MathF.Max(max, _logits[_chosen[i]]);
        }
        for (int i = 0; i < k; i++)
        {
            _weights[i] = MathF.Exp(_logits[_chosen[i]] - max);
            sum += _weights[i];
        }
        for (int i = 0; i < k; i++)
        {
            _weights[i] /= sum;
        }
    }

    private bool IsChosen(int expert, int count) => Array.IndexOf(_chosen, expert, 0, count) >= 0;
}
