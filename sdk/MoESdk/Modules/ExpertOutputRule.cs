namespace MoESdk.Modules;

/// <summary>How the chosen experts' outputs are combined.</summary>
public enum ExpertOutputRule
{
    /// <summary>
    /// FactorLLM: y = (N/k) · Σ chosen experts, a fixed scale (foldable into the down projections), which
    /// is exact in expectation when the experts partition the dense FFN.
    /// </summary>
    FixedScale,

    /// <summary>Mixtral / Qwen2-MoE: y = Σ softmax(router logits over the chosen k) · expert.</summary>
    RouterWeighted,

    /// <summary>
    /// Qwen2-MoE without norm_topk_prob: y = Σ softmax(router logits over all N)[chosen] · expert, the chosen
    /// experts' probabilities not renormalized.
    /// </summary>
    RouterProbability,
}
