using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// How a model's Mixture-of-Experts blocks map onto the standard MoE architectures — llama.cpp's <c>llama</c> (with
/// experts) and <c>qwen2moe</c>, which are Hugging Face's <c>MixtralForCausalLM</c> and <c>Qwen2MoeForCausalLM</c> —
/// with MoESdk's semantics folded into the weights. The GGUF and the Hugging Face exports both take their MoE tensors
/// from here, so the two files hold the same numbers:
/// <list type="bullet">
/// <item>Both engines choose the top k of softmax(router logits) — the same experts as the top k of the logits.</item>
/// <item>Mixtral renormalizes the chosen probabilities to sum 1, which is
/// <see cref="ExpertOutputRule.RouterWeighted"/> exactly; Qwen2-MoE keeps them unnormalized (norm_topk_prob false, the
/// only choice llama.cpp's <c>qwen2moe</c> has), which is <see cref="ExpertOutputRule.RouterProbability"/> exactly.</item>
/// <item><see cref="ExpertOutputRule.FixedScale"/> (every chosen expert weighs N/k): each layer's router is multiplied
/// by <see cref="RouterScale"/>, a power of two that keeps the logits' order (hence the choice) while making their
/// softmax uniform to within that factor, and the down projections carry N/k divided by the resulting uniform weight
/// (1/k renormalized, 1/N not).</item>
/// <item>Shared experts become one shared expert of all their neurons; Qwen2-MoE gates it by sigmoid(w·x). A block
/// with such a gate (read from a Qwen2-MoE checkpoint) keeps it; otherwise, as llama.cpp computes the gate as
/// silu(z)/z — NaN at z = 0 — w is the constant <see cref="SharedGateWeight"/>: z is then ~10⁻²⁴, whose sigmoid is ½
/// exactly in float32, and the down projection is doubled.</item>
/// <item>Layers whose experts differ in width are padded with zero neurons (silu(0)·0 = 0: exact).</item>
/// <item>A model with q/k/v biases and no shared experts (converted from Qwen2) needs Qwen2-MoE for its biases: it gets a
/// shared expert of <see cref="ZeroSharedWidth"/> zero neurons, which adds exactly 0.</item>
/// <item>A model with Qwen3's q/k norms becomes Qwen3-MoE (<c>qwen3moe</c>), which renormalizes like Mixtral.</item>
/// </list>
/// What cannot be expressed (counts or top-k that differ between layers, router-weighted experts beside shared
/// experts, router probabilities without them) is refused with the reason.
/// </summary>
internal sealed class MoEExportLayout
{
    /// <summary>2⁻⁸⁰ in every component of the shared expert's gate: a gate input far below float32's resolution
    /// around 0 (sigmoid = ½ exactly), yet a normal number for any hidden state that does not sum to exactly 0.</summary>
    public static readonly float SharedGateWeight = MathF.ScaleB(1f, -80);

    private readonly MixtureOfExpertsFeedForward[] _blocks;
    private readonly float[] _routerScales;

    /// <summary>Width of the all-zero shared expert that carries a Qwen2 source's MoE into Qwen2-MoE: one Q8_0 block per row.</summary>
    public const int ZeroSharedWidth = 32;

    private MoEExportLayout(MixtureOfExpertsFeedForward[] blocks, RmsNorm[] routerInputNorms, bool sharedInFile, bool queryKeyNorm)
    {
        _blocks = blocks;
        _routerScales = blocks.Select((b, i) => b.OutputRule == ExpertOutputRule.FixedScale ? UniformRouterScale(b.Router.Weight, routerInputNorms[i].Weight) : 1f).ToArray();
        HasSharedExperts = sharedInFile;
        QueryKeyNorm = queryKeyNorm;
        Experts = blocks[0].Experts.Count;
        ExpertsPerToken = blocks[0].TopK;
        ExpertWidth = blocks.Max(b => b.Experts.Max(e => e.Width));
        SharedWidth = !sharedInFile ? 0 : blocks[0].SharedExperts.Count > 0 ? blocks.Max(b => b.SharedExperts.Sum(e => e.Width)) : ZeroSharedWidth;
    }

    public int Experts { get; }

    public int ExpertsPerToken { get; }

    /// <summary>Width of every expert in the file (the widest of the model; narrower ones padded).</summary>
    public long ExpertWidth { get; }

    /// <summary>The file has a shared expert per layer (Qwen2-MoE): the model's shared experts, or a zero one for a model with q/k/v biases.</summary>
    public bool HasSharedExperts { get; }

    /// <summary>The attention has Qwen3's per-head q/k norms: Qwen3-MoE (llama.cpp's <c>qwen3moe</c>), which renormalizes like Mixtral.</summary>
    public bool QueryKeyNorm { get; }

    /// <summary>llama.cpp's architecture of this layout.</summary>
    public string GgufArchitecture => HasSharedExperts ? "qwen2moe" : QueryKeyNorm ? "qwen3moe" : "llama";

    /// <summary>Width of the one shared expert per layer in the file (the shared experts' neurons concatenated).</summary>
    public long SharedWidth { get; }

    /// <summary>The Hugging Face class of this layout: Qwen2-MoE with a shared expert, Mixtral without.</summary>
    public string HuggingFaceArchitecture => HasSharedExperts ? HuggingFaceConfig.Qwen2Moe : QueryKeyNorm ? HuggingFaceConfig.Qwen3Moe : HuggingFaceConfig.Mixtral;

    /// <summary>The blocks as Mixtral / Qwen2-MoE / Qwen3-MoE configure them (Mixtral and Qwen3-MoE renormalize the top-k weights, Qwen2-MoE here does not).</summary>
    public MixtureConfig HuggingFaceMixture => new(Experts, ExpertsPerToken, checked((int)ExpertWidth), checked((int)SharedWidth), NormalizeTopK: Renormalizes);

    /// <summary>Whether a block's routing is made uniform by <see cref="RouterScale"/> (the fixed-scale rule).</summary>
    public bool UniformRouter => _blocks[0].OutputRule == ExpertOutputRule.FixedScale;

    /// <summary>The layout of <paramref name="model"/>'s blocks, or null for a dense model.</summary>
    /// <exception cref="NotSupportedException">The blocks cannot be expressed in llama.cpp's MoE layout; the message says why.</exception>
    public static MoEExportLayout? Of(LlamaModel model)
    {
        var blocks = model.Layers.Select(l => l.FeedForward as MixtureOfExpertsFeedForward).ToArray();
        if (blocks.All(b => b is null))
        {
            return null;
        }
        if (blocks.Any(b => b is null))
        {
            throw new NotSupportedException("the model mixes dense and Mixture-of-Experts layers, which Mixtral and Qwen2-MoE (llama.cpp's llama and qwen2moe) cannot express");
        }
        MixtureOfExpertsFeedForward[] moe = blocks!;
        MixtureOfExpertsFeedForward first = moe[0];
        for (int i = 0; i < moe.Length; i++)
        {
            MixtureOfExpertsFeedForward b = moe[i];
            if (b.Experts.Count != first.Experts.Count || b.TopK != first.TopK)
            {
                throw new NotSupportedException($"layer {i} has {b.Experts.Count} experts with top-{b.TopK}, layer 0 {first.Experts.Count} with top-{first.TopK}; Mixtral, Qwen2-MoE and GGUF have one expert count and top-k for all layers");
            }
            if ((b.SharedExperts.Count > 0) != (first.SharedExperts.Count > 0))
            {
                throw new NotSupportedException($"layer {i} {(b.SharedExperts.Count > 0 ? "has" : "lacks")} shared experts unlike layer 0; Mixtral, Qwen2-MoE and GGUF need the same block layout in every layer");
            }
            if (b.OutputRule != first.OutputRule || (b.SharedExpertGate is null) != (first.SharedExpertGate is null))
            {
                throw new NotSupportedException($"layer {i} combines experts by {b.OutputRule}{(b.SharedExpertGate is null ? "" : " with a shared expert gate")}, layer 0 by {first.OutputRule}{(first.SharedExpertGate is null ? "" : " with a shared expert gate")}");
            }
        }
        bool shared = first.SharedExperts.Count > 0;
        ModelConfig config = model.Config;
        if (config.QueryKeyNorm && shared)
        {
            throw new NotSupportedException("shared experts beside q/k norms cannot be expressed: Qwen3-MoE (llama.cpp's qwen3moe) has no shared expert, Qwen2-MoE no q/k norms");
        }
        if (config.QueryKeyNorm && config.AttentionBias)
        {
            throw new NotSupportedException("q/k norms beside q/k/v biases cannot be expressed: Qwen3-MoE has no attention biases");
        }
        // Mixtral takes no attention biases: a model with them goes to Qwen2-MoE, with a zero shared expert if it has none.
        bool zeroShared = !shared && config.AttentionBias;
        if (zeroShared && first.OutputRule == ExpertOutputRule.RouterWeighted)
        {
            throw new NotSupportedException("router-weighted experts with q/k/v biases and no shared experts cannot be expressed exactly: Qwen2-MoE (llama.cpp's qwen2moe, the MoE architecture with biases) does not renormalize the top-k weights");
        }
        if (shared && first.OutputRule == ExpertOutputRule.RouterWeighted)
        {
            throw new NotSupportedException("router-weighted experts beside shared experts cannot be expressed exactly: llama.cpp's qwen2moe (the architecture with a shared expert) does not renormalize the top-k weights");
        }
        if (!shared && !zeroShared && first.OutputRule == ExpertOutputRule.RouterProbability)
        {
            throw new NotSupportedException("unnormalized router probabilities without a shared expert cannot be expressed exactly: Mixtral and Qwen3-MoE as llama.cpp runs them (the architectures without a shared expert) renormalize the top-k weights");
        }
        return new MoEExportLayout(moe, model.Layers.Select(l => l.FeedForwardNorm).ToArray(), shared || zeroShared, config.QueryKeyNorm);
    }

    /// <summary>Whether the file's architecture renormalizes the chosen experts' weights (llama yes, qwen2moe no).</summary>
    private bool Renormalizes => !HasSharedExperts;

    /// <summary>Router [experts, hidden], scaled by <see cref="RouterScale"/> for the fixed-scale rule.</summary>
    public Tensor Router(int layer) => _routerScales[layer] == 1f ? _blocks[layer].Router.Weight : _blocks[layer].Router.Weight * _routerScales[layer];

    /// <summary>The factor on layer <paramref name="layer"/>'s router logits: 1, or for the fixed-scale rule a power of two ≪ 1.</summary>
    public float RouterScale(int layer) => _routerScales[layer];

    /// <summary>
    /// The power of two s that makes a fixed-scale router's softmax uniform while keeping its order. Two errors pull
    /// against each other. A chosen expert's weight is off from uniform by about s times its logit's distance from the
    /// other chosen ones: a small, smooth error. But llama.cpp's softmax computes exp(s·(l − max)) in float32, whose
    /// values near 1 are 2⁻²⁴ apart, so logits closer than 2⁻²⁴/s may tie and swap an expert, which changes the
    /// layer's output entirely, and a trained router has near-ties of 10⁻³ within a few dozen tokens. So s is the
    /// largest power of two that keeps the weights within 2⁻¹⁰ of uniform (finer than bfloat16's rounding) at the
    /// router's logit spread, which leaves order resolved to 2⁻¹⁴ of that spread. The spread is estimated from the
    /// weights alone: the largest standard deviation of a logit difference (w_i − w_j)·x over router inputs
    /// x = g ⊙ z (g the norm's weight, z of unit RMS), which on the reference model's artifact is within 2× of the
    /// largest spread its logits reach on text.
    /// </summary>
    internal static float UniformRouterScale(Tensor router, Tensor inputNormWeight)
    {
        using var scope = NewDisposeScope();
        Tensor scaled = router.to(float64) * inputNormWeight.to(float64);
        Tensor differences = scaled.unsqueeze(0) - scaled.unsqueeze(1);
        double spread = Math.Max(differences.square().sum(-1).sqrt().max().item<double>(), 1e-6);
        return MathF.ScaleB(1f, (int)Math.Floor(Math.Log2(Math.ScaleB(1, -9) / spread)));
    }

    /// <summary>Gate or up projection of one expert, padded to [width, hidden].</summary>
    public Tensor Expert(int layer, int expert, Func<Expert, Tensor> part) => PadRows(part(_blocks[layer].Experts[expert]), ExpertWidth);

    /// <summary>Down projection of one expert with the output rule folded in, padded to [hidden, width].</summary>
    public Tensor ExpertDown(int layer, int expert)
    {
        MixtureOfExpertsFeedForward b = _blocks[layer];
        float fold = b.OutputRule == ExpertOutputRule.FixedScale
            ? (float)(b.FixedScale * (Renormalizes ? b.TopK : b.Experts.Count))
            : 1f;
        return PadColumns(b.Experts[expert].Down.Weight * fold, ExpertWidth);
    }

    /// <summary>Gate or up projections of all experts, [experts, width, hidden] (GGUF's stacked tensors).</summary>
    public Tensor Stacked(int layer, Func<Expert, Tensor> part) =>
        stack(Enumerable.Range(0, Experts).Select(e => Expert(layer, e, part)).ToArray());

    /// <summary>Down projections of all experts, [experts, hidden, width].</summary>
    public Tensor StackedDown(int layer) => stack(Enumerable.Range(0, Experts).Select(e => ExpertDown(layer, e)).ToArray());

    /// <summary>The shared experts' gate or up projections as one, [sharedWidth, hidden].</summary>
    public Tensor Shared(int layer, Func<Expert, Tensor> part) => _blocks[layer].SharedExperts.Count == 0
        ? zeros(SharedWidth, _blocks[layer].Router.InFeatures)
        : PadRows(cat(_blocks[layer].SharedExperts.Select(part).ToArray(), 0), SharedWidth);

    /// <summary>The shared experts' down projections as one, doubled for the ½ of a constant gate, [hidden, sharedWidth].</summary>
    public Tensor SharedDown(int layer)
    {
        float fold = _blocks[layer].SharedExpertGate is null ? 2f : 1f;
        if (_blocks[layer].SharedExperts.Count == 0)
        {
            return zeros(_blocks[layer].Router.InFeatures, SharedWidth);
        }
        return PadColumns(cat(_blocks[layer].SharedExperts.Select(e => e.Down.Weight * fold).ToArray(), 1), SharedWidth);
    }

    /// <summary>The shared expert's gate weight w of sigmoid(w·x), [hidden]: the block's own, or the constant of ½.</summary>
    public Tensor SharedGate(int layer, long hidden) =>
        _blocks[layer].SharedExpertGate is { } gate ? gate.Weight.reshape(hidden) : full(hidden, SharedGateWeight);

    private static Tensor PadRows(Tensor weight, long rows) =>
        weight.shape[0] == rows ? weight : cat([weight, zeros(rows - weight.shape[0], weight.shape[1])], 0);

    private static Tensor PadColumns(Tensor weight, long columns) =>
        weight.shape[1] == columns ? weight : cat([weight, zeros(weight.shape[0], columns - weight.shape[1])], 1);
}
