namespace MoESdk.Loading;

/// <summary>
/// Tensor names of Mixture-of-Experts feed-forward blocks, in the Hugging Face Mixtral / Qwen2-MoE layout
/// (router = mlp.gate, experts under mlp.experts.{e}), so an artifact maps onto those engines' loaders.
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
}
