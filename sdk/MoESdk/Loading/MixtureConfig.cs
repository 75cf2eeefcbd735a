namespace MoESdk.Loading;

/// <summary>
/// The Mixture-of-Experts feed-forward blocks of a Hugging Face MoE model (Mixtral, Qwen2-MoE), the same in
/// every layer: a linear router over <paramref name="Experts"/> SwiGLU experts of which the top
/// <paramref name="ExpertsPerToken"/> run, plus, for Qwen2-MoE, one shared expert gated by sigmoid(w·x).
/// </summary>
/// <param name="Experts">Routed experts per layer (num_local_experts, num_experts).</param>
/// <param name="ExpertsPerToken">Top-k (num_experts_per_tok).</param>
/// <param name="ExpertWidth">Neurons of each routed expert (Mixtral's intermediate_size, Qwen2-MoE's moe_intermediate_size).</param>
/// <param name="SharedWidth">Neurons of the gated shared expert (shared_expert_intermediate_size); 0 for none.</param>
/// <param name="NormalizeTopK">The chosen experts' softmax probabilities are renormalized to sum 1 (Mixtral always;
/// Qwen2-MoE when norm_topk_prob); otherwise they are the softmax over all experts.</param>
internal sealed record MixtureConfig(int Experts, int ExpertsPerToken, int ExpertWidth, int SharedWidth, bool NormalizeTopK)
{
    /// <summary>Throws <see cref="ModelFormatException"/> when the numbers cannot describe MoE blocks.</summary>
    public void Validate(string source)
    {
        if (Experts < 1 || ExpertsPerToken < 1 || ExpertsPerToken > Experts)
        {
            throw new ModelFormatException(source, $"num_experts_per_tok {ExpertsPerToken} must be between 1 and the expert count {Experts}");
        }
        if (ExpertWidth < 1 || SharedWidth < 0)
        {
            throw new ModelFormatException(source, $"expert width {ExpertWidth} must be positive and the shared expert width {SharedWidth} not negative");
        }
    }
}
