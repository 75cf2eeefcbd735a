namespace MoESdk.Loading;

/// <summary>
/// Tensor names of a LLaMA-family checkpoint in the Hugging Face layout, the one naming every loader
/// produces and every module consumes. Weights are row-major [out, in].
/// </summary>
internal static class WeightNames
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string Head = "lm_head.weight";

    public static string Layer(int layer, string part) => $"model.layers.{layer}.{part}";

    public static string AttentionNorm(int layer) => Layer(layer, "input_layernorm.weight");
    public static string FfnNorm(int layer) => Layer(layer, "post_attention_layernorm.weight");
    public static string Query(int layer) => Layer(layer, "self_attn.q_proj.weight");
    public static string Key(int layer) => Layer(layer, "self_attn.k_proj.weight");
    public static string Value(int layer) => Layer(layer, "self_attn.v_proj.weight");
    public static string Output(int layer) => Layer(layer, "self_attn.o_proj.weight");
    public static string QueryBias(int layer) => Layer(layer, "self_attn.q_proj.bias");
    public static string KeyBias(int layer) => Layer(layer, "self_attn.k_proj.bias");
    public static string ValueBias(int layer) => Layer(layer, "self_attn.v_proj.bias");
    public static string QueryNorm(int layer) => Layer(layer, "self_attn.q_norm.weight");
    public static string KeyNorm(int layer) => Layer(layer, "self_attn.k_norm.weight");
    public static string Gate(int layer) => Layer(layer, "mlp.gate_proj.weight");
    public static string Up(int layer) => Layer(layer, "mlp.up_proj.weight");
    public static string Down(int layer) => Layer(layer, "mlp.down_proj.weight");
}
