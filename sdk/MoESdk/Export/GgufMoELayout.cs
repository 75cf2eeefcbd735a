using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// How a model's Mixture-of-Experts blocks map onto llama.cpp's MoE tensors, with MoESdk's semantics folded into
/// the weights:
/// <list type="bullet">
/// <item>llama.cpp chooses the top k of softmax(router logits) — the same experts as the top k of the logits.</item>
/// <item>The <c>llama</c> architecture renormalizes the chosen probabilities to sum 1 (Mixtral), which is
/// <see cref="ExpertOutputRule.RouterWeighted"/> exactly; <c>qwen2moe</c> keeps them unnormalized.</item>
/// <item><see cref="ExpertOutputRule.FixedScale"/> (every chosen expert weighs N/k): the router is multiplied by
/// <see cref="UniformRouterScale"/>, a power of two that keeps the logits' order (hence the choice) while making
/// their softmax uniform to within that factor, and the down projections carry N/k divided by the resulting
/// uniform weight (1/k renormalized, 1/N not).</item>
/// <item>Shared experts become one shared expert of all their neurons; <c>qwen2moe</c> gates it by sigmoid(w·x),
/// which llama.cpp computes as silu(z)/z — NaN at z = 0 — so w is the constant <see cref="SharedGateWeight"/>: z is
/// then ~10⁻²⁴, whose sigmoid is ½ exactly in float32, and the down projection is doubled.</item>
/// <item>Layers whose experts differ in width are padded with zero neurons (silu(0)·0 = 0: exact).</item>
/// </list>
/// What cannot be expressed (counts or top-k that differ between layers, router-weighted experts beside shared
/// experts, a routing policy) is refused with the reason.
/// </summary>
internal sealed class GgufMoELayout
{
    /// <summary>2⁻¹⁴: router logits 0.01 apart still differ by 6·10⁻⁷ after it (ten float32 steps near 1, so the
    /// choice is kept), while the weights differ from uniform by 6·10⁻⁵ per unit of logit spread.</summary>
    public const float UniformRouterScale = 1f / 16384;

    /// <summary>2⁻⁸⁰ in every component of the shared expert's gate: a gate input far below float32's resolution
    /// around 0 (sigmoid = ½ exactly), yet a normal number for any hidden state that does not sum to exactly 0.</summary>
    public static readonly float SharedGateWeight = MathF.ScaleB(1f, -80);

    private readonly MixtureOfExpertsFeedForward[] _blocks;

    private GgufMoELayout(MixtureOfExpertsFeedForward[] blocks, bool shared)
    {
        _blocks = blocks;
        HasSharedExperts = shared;
        Experts = blocks[0].Experts.Count;
        ExpertsPerToken = blocks[0].TopK;
        ExpertWidth = blocks.Max(b => b.Experts.Max(e => e.Width));
        SharedWidth = shared ? blocks.Max(b => b.SharedExperts.Sum(e => e.Width)) : 0;
    }

    public int Experts { get; }

    public int ExpertsPerToken { get; }

    /// <summary>Width of every expert in the file (the widest of the model; narrower ones padded).</summary>
    public long ExpertWidth { get; }

    public bool HasSharedExperts { get; }

    /// <summary>Width of the one shared expert per layer in the file (the shared experts' neurons concatenated).</summary>
    public long SharedWidth { get; }

    /// <summary>The layout of <paramref name="model"/>'s blocks, or null for a dense model.</summary>
    /// <exception cref="NotSupportedException">The blocks cannot be expressed in llama.cpp's MoE layout; the message says why.</exception>
    public static GgufMoELayout? Of(LlamaModel model)
    {
        var blocks = model.Layers.Select(l => l.FeedForward as MixtureOfExpertsFeedForward).ToArray();
        if (blocks.All(b => b is null))
        {
            return null;
        }
        if (blocks.Any(b => b is null))
        {
            throw new NotSupportedException("the model mixes dense and Mixture-of-Experts layers, which llama.cpp's llama and qwen2moe architectures cannot express");
        }
        MixtureOfExpertsFeedForward[] moe = blocks!;
        MixtureOfExpertsFeedForward first = moe[0];
        for (int i = 0; i < moe.Length; i++)
        {
            MixtureOfExpertsFeedForward b = moe[i];
            if (b.Experts.Count != first.Experts.Count || b.TopK != first.TopK)
            {
                throw new NotSupportedException($"layer {i} has {b.Experts.Count} experts with top-{b.TopK}, layer 0 {first.Experts.Count} with top-{first.TopK}; GGUF has one expert count and top-k for all layers");
            }
            if ((b.SharedExperts.Count > 0) != (first.SharedExperts.Count > 0))
            {
                throw new NotSupportedException($"layer {i} {(b.SharedExperts.Count > 0 ? "has" : "lacks")} shared experts unlike layer 0; GGUF needs the same block layout in every layer");
            }
            if (b.OutputRule != first.OutputRule)
            {
                throw new NotSupportedException($"layer {i} combines experts by {b.OutputRule}, layer 0 by {first.OutputRule}");
            }
        }
        bool shared = first.SharedExperts.Count > 0;
        if (shared && first.OutputRule == ExpertOutputRule.RouterWeighted)
        {
            throw new NotSupportedException("router-weighted experts beside shared experts cannot be expressed exactly: llama.cpp's qwen2moe (the architecture with a shared expert) does not renormalize the top-k weights");
        }
        return new GgufMoELayout(moe, shared);
    }

    /// <summary>Whether the file's architecture renormalizes the chosen experts' weights (llama yes, qwen2moe no).</summary>
    private bool Renormalizes => !HasSharedExperts;

    /// <summary>Router [experts, hidden], scaled for the fixed-scale rule.</summary>
    public Tensor Router(int layer)
    {
        MixtureOfExpertsFeedForward b = _blocks[layer];
        return b.OutputRule == ExpertOutputRule.FixedScale ? b.Router.Weight * UniformRouterScale : b.Router.Weight;
    }

    /// <summary>Gate or up projections of all experts, [experts, width, hidden].</summary>
    public Tensor Stacked(int layer, Func<Expert, Tensor> part) =>
        stack(_blocks[layer].Experts.Select(e => PadRows(part(e), ExpertWidth)).ToArray());

    /// <summary>Down projections of all experts with the output rule folded in, [experts, hidden, width].</summary>
    public Tensor StackedDown(int layer)
    {
        MixtureOfExpertsFeedForward b = _blocks[layer];
        float fold = b.OutputRule == ExpertOutputRule.FixedScale
            ? (float)(b.FixedScale * (Renormalizes ? b.TopK : b.Experts.Count))
            : 1f;
        return stack(b.Experts.Select(e => PadColumns(e.Down.Weight * fold, ExpertWidth)).ToArray());
    }

    /// <summary>The shared experts' gate or up projections as one, [sharedWidth, hidden].</summary>
    public Tensor Shared(int layer, Func<Expert, Tensor> part) =>
        PadRows(cat(_blocks[layer].SharedExperts.Select(part).ToArray(), 0), SharedWidth);

    /// <summary>The shared experts' down projections as one, doubled for the ½ of the zero gate, [hidden, sharedWidth].</summary>
    public Tensor SharedDown(int layer) =>
        PadColumns(cat(_blocks[layer].SharedExperts.Select(e => e.Down.Weight * 2f).ToArray(), 1), SharedWidth);

    private static Tensor PadRows(Tensor weight, long rows) =>
        weight.shape[0] == rows ? weight : cat([weight, zeros(rows - weight.shape[0], weight.shape[1])], 0);

    private static Tensor PadColumns(Tensor weight, long columns) =>
        weight.shape[1] == columns ? weight : cat([weight, zeros(weight.shape[0], columns - weight.shape[1])], 1);
}
