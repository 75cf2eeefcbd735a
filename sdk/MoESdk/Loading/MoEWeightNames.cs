namespace MoESdk.Loading;

/// <summary>
/// Tensor names of Mixture-of-Experts feed-forward blocks, in the Hugging Face Mixtral / Qwen2-MoE layout
/// (router = mlp.gate, experts under mlp.experts.{e}; Qwen3-MoE's own names too), so an artifact maps onto those engines' loaders;
/// <see cref="InCheckpoint"/> gives each engine's exact names.
/// </summary>
internal static class MoEWeightNames
{
    public static string Router(int layer) => WeightNames.Layer(layer, "mlp.gate.weight");
    public static string ExpertGate(int layer, int expert) => WeightNames.Layer(layer, $"mlp.experts.{expert}.gate_proj.weight");
    public static string ExpertUp(int layer, int expert) => WeightNames.Layer(layer, $"mlp.experts.{expert}.up_proj.weight");
    public static string ExpertDown(int layer, int expert) => WeightNames.Layer(layer, $"mlp.experts.{expert}.down_proj.weight");
    public static string SharedGate(int layer, int shared) => WeightNames.Layer(layer, $"mlp.shared_experts.{shared}.gate_proj.weight");
    public static string SharedUp(int layer, int shared) => WeightNames.Layer(layer, $"mlp.shared_experts.{shared}.up_proj.weight");
    public static string SharedDown(int layer, int shared) => WeightNames.Layer(layer, $"mlp.shared_experts.{shared}.down_proj.weight");

    /// <summary>Qwen2-MoE's gate of the shared expert, [1, hidden]: its output is scaled by sigmoid(w·x).</summary>
    public static string SharedExpertGate(int layer) => WeightNames.Layer(layer, "mlp.shared_expert_gate.weight");

    /// <summary>
    /// The name a Hugging Face MoE checkpoint of <paramref name="architecture"/> gives the tensor this SDK calls
    /// <paramref name="name"/>: Mixtral's block_sparse_moe with w1/w3/w2 for gate/up/down, Qwen2-MoE's one
    /// shared_expert. The loader reads and the exporter writes through this one mapping.
    /// </summary>
    public static string InCheckpoint(string architecture, string name) => architecture switch
    {
        HuggingFaceConfig.Mixtral when name.Contains(".mlp.", StringComparison.Ordinal) => name
            .Replace(".mlp.", ".block_sparse_moe.", StringComparison.Ordinal)
            .Replace(".gate_proj.", ".w1.", StringComparison.Ordinal)
            .Replace(".up_proj.", ".w3.", StringComparison.Ordinal)
            .Replace(".down_proj.", ".w2.", StringComparison.Ordinal),
        HuggingFaceConfig.Qwen2Moe => name.Replace(".mlp.shared_experts.0.", ".mlp.shared_expert.", StringComparison.Ordinal),
        _ => name,
    };
}
