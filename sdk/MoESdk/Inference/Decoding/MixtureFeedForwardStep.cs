using MoESdk.Inference.Kernels;
using MoESdk.Modules;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// A Mixture-of-Experts block for one token: score the experts, run only the top k (each reads only its own
/// rows), plus the shared experts. The route (top-k, policy) and the observer come from the session's
/// <see cref="RoutingContext"/>, resolved once: this step belongs to one session, the block to every session.
/// </summary>
internal sealed unsafe class MixtureFeedForwardStep : IFeedForwardStep
{
    private readonly int _layer;
    private readonly ExpertRoute _route;
    private readonly ExpertOutputRule _rule;
    private readonly ExpertChoiceObserver? _observer;
    private readonly FloatMatrix _router;
    private readonly SwiGluWeights[] _experts;
    private readonly SwiGluWeights[] _shared;
    private readonly float[]? _sharedGate;
    private readonly float[] _logits;
    private readonly float* _logitsp;
    private readonly int[] _chosen;
    private readonly float[] _weights;
    private readonly long[] _observed;
    private readonly ExpertBatch _batch;

    public MixtureFeedForwardStep(MixtureOfExpertsFeedForward block, int layer, RoutingContext routing, DecodeWeights weights)
    {
        _layer = layer;
        _route = routing.ForLayer(layer, block);
        _rule = block.OutputRule;
        _observer = routing.Observer;
        _router = weights.FloatMatrix(block.Router.Weight);
        _experts = block.Experts.Select(e => SwiGlu(e, weights)).ToArray();
        _shared = block.SharedExperts.Select(e => SwiGlu(e, weights)).ToArray();
        _sharedGate = block.SharedExpertGate?.Weight.to(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray();
        // Pinned: a batched step writes the router logits from the pool's threads.
        _logits = GC.AllocateArray<float>(_experts.Length, pinned: true);
        _logitsp = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _logits[0]);
        _chosen = new int[_experts.Length];
        _weights = new float[_experts.Length];
        _observed = new long[_experts.Length];
        _batch = new ExpertBatch(_experts.Length + _shared.Length, _experts.Concat(_shared).Sum(e => e.Hidden));
    }

    // The same weights, route and observer; its own logits, choice and expert batch.
    private MixtureFeedForwardStep(MixtureFeedForwardStep source)
    {
        _layer = source._layer;
        _route = source._route;
        _rule = source._rule;
        _observer = source._observer;
        _router = source._router;
        _experts = source._experts;
        _shared = source._shared;
        _sharedGate = source._sharedGate;
        _logits = GC.AllocateArray<float>(_experts.Length, pinned: true);
        _logitsp = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _logits[0]);
        _chosen = new int[_experts.Length];
        _weights = new float[_experts.Length];
        _observed = new long[_experts.Length];
        _batch = new ExpertBatch(source._batch.Capacity, source._batch.MaxHidden);
    }

    public IFeedForwardStep Fork() => new MixtureFeedForwardStep(this);

    /// <summary>None: the expert batch holds the hidden activations of all the layer's experts.</summary>
    public int ScratchWidth => 0;

    public void Accumulate(ComputePool pool, ReadOnlySpan<float> x, Span<float> scratch, Span<float> residual)
    {
        Route(pool, x);
        // The shared and chosen experts in two dispatches for the whole layer, however many there are.
        _batch.Clear();
        float sharedWeight = SharedWeight(x);
        foreach (SwiGluWeights shared in _shared)
        {
            _batch.Add(shared, sharedWeight);
        }
        for (int i = 0; i < _route.ExpertsPerToken; i++)
        {
            _batch.Add(_experts[_chosen[i]], _weights[i]);
        }
        _batch.Accumulate(pool, x, residual);
        Observe();
    }

    public unsafe void AccumulateBatch(ComputePool pool, DecodeBatch batch, int layer, ReadOnlySpan<IFeedForwardStep> sequences)
    {
        // Numbered as one table: the routed experts, then the shared ones.
        ExpertGroups groups = batch.Groups(layer, tokens => new ExpertGroups(tokens, _experts.Length + _shared.Length, _experts.Length + _shared.Length,
            _experts.Concat(_shared).Sum(e => e.Hidden), _experts.Concat(_shared).First().Dim));
        groups.Clear(sequences.Length);
        int n = sequences.Length;
        for (int s = 0; s < n; s++)
        {
            batch.RouterLogits[s] = ((MixtureFeedForwardStep)sequences[s])._logitsp;
        }
        // Every sequence's router logits in one dispatch, the same products as its own step's.
        MultiVec.Inputs(_router, batch.Normed, n, batch.Paired, batch.PairedStride, batch.Inputs);
        MultiVec.Multiply(pool, _router, batch.Inputs, batch.RouterLogits, n);
        for (int s = 0; s < n; s++)
        {
            var step = (MixtureFeedForwardStep)sequences[s];
            step.Choose();
            float sharedWeight = _shared.Length == 0 ? 1f : SharedWeight(new ReadOnlySpan<float>(batch.Normed[s], _router.Cols));
            // Each token's experts in the order its own step adds them: its sums run in the same order.
            for (int i = 0; i < _shared.Length; i++)
            {
                groups.Add(s, _experts.Length + i, _shared[i], sharedWeight);
            }
            for (int i = 0; i < step._route.ExpertsPerToken; i++)
            {
                groups.Add(s, step._chosen[i], _experts[step._chosen[i]], step._weights[i]);
            }
        }
        groups.Accumulate(pool, batch.Normed, batch.X);
        for (int s = 0; s < sequences.Length; s++)
        {
            ((MixtureFeedForwardStep)sequences[s]).Observe();
        }
    }

    // Scores the experts for x and picks this session's top k with their output weights.
    private void Route(ComputePool pool, ReadOnlySpan<float> x)
    {
        MatVec.Multiply(pool, _router, x, _logits);
        Choose();
    }

    private void Choose()
    {
        _route.Select(_logits, _chosen);
        Weigh(_route.ExpertsPerToken);
    }

    private void Observe()
    {
        if (_observer is null)
        {
            return;
        }
        int k = _route.ExpertsPerToken;
        for (int i = 0; i < k; i++)
        {
            _observed[i] = _chosen[i];
        }
        _observer(_layer, _observed.AsSpan(0, k), k);
    }

    // Qwen2-MoE gates its shared expert by sigmoid(w·x); the other rules add it whole.
    private float SharedWeight(ReadOnlySpan<float> x) => _sharedGate is null ? 1f : 1f / (1f + MathF.Exp(-Dot(_sharedGate, x)));

    private static SwiGluWeights SwiGlu(Expert expert, DecodeWeights weights) =>
        new(weights.Matrix(expert.Gate.Weight), weights.Matrix(expert.Up.Weight), weights.Matrix(expert.Down.Weight));

    private static float Dot(float[] w, ReadOnlySpan<float> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            sum += w[i] * x[i];
        }
        return sum;
    }

    // Each chosen expert's output weight, from the unmasked logits as on the torch path.
    private void Weigh(int k)
    {
        if (_rule == ExpertOutputRule.FixedScale)
        {
            _weights.AsSpan(0, k).Fill(_route.FixedScale);
            return;
        }
        // Router-weighted: softmax over the chosen experts' logits; router probability: over all experts' logits.
        bool overAll = _rule == ExpertOutputRule.RouterProbability;
        float max = float.NegativeInfinity, sum = 0;
        for (int i = 0; i < (overAll ? _logits.Length : k); i++)
        {
            max = MathF.Max(max, _logits[overAll ? i : _chosen[i]]);
        }
        for (int i = 0; i < k; i++)
        {
            _weights[i] = MathF.Exp(_logits[_chosen[i]] - max);
            sum += _weights[i];
        }
        if (overAll)
        {
            sum = 0;
            foreach (float logit in _logits)
            {
                sum += MathF.Exp(logit - max);
            }
        }
        for (int i = 0; i < k; i++)
        {
            _weights[i] /= sum;
        }
    }
}
