using System.Text.Json;
using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>
/// Writes random-weight Mixtral, Qwen2-MoE and Qwen3-MoE models the way transformers saves them: the config keys of
/// MixtralConfig / Qwen2MoeConfig / Qwen3MoeConfig and transformers' tensor names, spelled out here rather than taken from the SDK.
/// </summary>
internal static class HuggingFaceMoEFolder
{
    public const int Hidden = 64, Layers = 2, Heads = 4, KeyValueHeads = 2, Vocab = 128, Experts = 4, TopK = 2;
    public const int MixtralWidth = 96, Qwen2MoeWidth = 48, Qwen2MoeSharedWidth = 80;

    public static void Write(string folder, string architecture, int seed)
    {
        bool mixtral = architecture == "MixtralForCausalLM", qwen3 = architecture == "Qwen3MoeForCausalLM";
        // Qwen3-MoE: heads of 32, wider than hidden size / heads, as Qwen3 has.
        long headDim = qwen3 ? 32 : Hidden / Heads;
        var config = new Dictionary<string, object?>
        {
            ["architectures"] = new[] { architecture },
            ["model_type"] = mixtral ? "mixtral" : qwen3 ? "qwen3_moe" : "qwen2_moe",
            ["hidden_act"] = "silu",
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = mixtral ? MixtralWidth : 160,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KeyValueHeads,
            ["vocab_size"] = Vocab,
            ["max_position_embeddings"] = 128,
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = mixtral ? 1000000.0 : 10000.0,
            ["tie_word_embeddings"] = false,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["num_experts_per_tok"] = TopK,
            ["torch_dtype"] = "float32",
        };
        if (mixtral)
        {
            config["num_local_experts"] = Experts;
            config["sliding_window"] = null;
        }
        else if (qwen3)
        {
            config["head_dim"] = headDim;
            config["num_experts"] = Experts;
            config["moe_intermediate_size"] = Qwen2MoeWidth;
            config["norm_topk_prob"] = true;
            config["attention_bias"] = false;
            config["decoder_sparse_step"] = 1;
            config["mlp_only_layers"] = Array.Empty<int>();
        }
        else
        {
            config["num_experts"] = Experts;
            config["moe_intermediate_size"] = Qwen2MoeWidth;
            config["shared_expert_intermediate_size"] = Qwen2MoeSharedWidth;
            config["norm_topk_prob"] = false;
            config["decoder_sparse_step"] = 1;
            config["mlp_only_layers"] = Array.Empty<int>();
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));

        using var generator = new Generator((ulong)seed);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        void Add(string name, float scale, params long[] shape) => tensors[name] = randn(shape, generator: generator).mul_(scale);
        void Norm(string name) => tensors[name] = rand([Hidden], generator: generator).add_(0.5f);
        Add("model.embed_tokens.weight", 0.5f, Vocab, Hidden);
        for (int i = 0; i < Layers; i++)
        {
            string l = $"model.layers.{i}.";
            Norm(l + "input_layernorm.weight");
            Norm(l + "post_attention_layernorm.weight");
            Add(l + "self_attn.q_proj.weight", 0.1f, Heads * headDim, Hidden);
            Add(l + "self_attn.k_proj.weight", 0.1f, KeyValueHeads * headDim, Hidden);
            Add(l + "self_attn.v_proj.weight", 0.1f, KeyValueHeads * headDim, Hidden);
            Add(l + "self_attn.o_proj.weight", 0.1f, Hidden, Heads * headDim);
            if (mixtral)
            {
                // Router logits spread by several units: the top-k choice is firm, not a near-tie rounding could flip.
                Add(l + "block_sparse_moe.gate.weight", 0.5f, Experts, Hidden);
                for (int e = 0; e < Experts; e++)
                {
                    string x = $"{l}block_sparse_moe.experts.{e}.";
                    Add(x + "w1.weight", 0.2f, MixtralWidth, Hidden);
                    Add(x + "w3.weight", 0.2f, MixtralWidth, Hidden);
                    Add(x + "w2.weight", 0.2f, Hidden, MixtralWidth);
                }
                continue;
            }
            if (qwen3)
            {
                tensors[l + "self_attn.q_norm.weight"] = rand([headDim], generator: generator).add_(0.5f);
                tensors[l + "self_attn.k_norm.weight"] = rand([headDim], generator: generator).add_(0.5f);
            }
            else
            {
                Add(l + "self_attn.q_proj.bias", 0.5f, Heads * headDim);
                Add(l + "self_attn.k_proj.bias", 0.5f, KeyValueHeads * headDim);
                Add(l + "self_attn.v_proj.bias", 0.5f, KeyValueHeads * headDim);
            }
            Add(l + "mlp.gate.weight", 0.5f, Experts, Hidden);
            for (int e = 0; e < Experts; e++)
            {
                string x = $"{l}mlp.experts.{e}.";
                Add(x + "gate_proj.weight", 0.2f, Qwen2MoeWidth, Hidden);
                Add(x + "up_proj.weight", 0.2f, Qwen2MoeWidth, Hidden);
                Add(x + "down_proj.weight", 0.2f, Hidden, Qwen2MoeWidth);
            }
            if (qwen3)
            {
                continue;
            }
            Add(l + "mlp.shared_expert.gate_proj.weight", 0.2f, Qwen2MoeSharedWidth, Hidden);
            Add(l + "mlp.shared_expert.up_proj.weight", 0.2f, Qwen2MoeSharedWidth, Hidden);
            Add(l + "mlp.shared_expert.down_proj.weight", 0.2f, Hidden, Qwen2MoeSharedWidth);
            Add(l + "mlp.shared_expert_gate.weight", 0.3f, 1, Hidden);
        }
        Norm("model.norm.weight");
        Add("lm_head.weight", 0.5f, Vocab, Hidden);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        foreach (Tensor tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }

    /// <summary>The tensor names of the model.safetensors in <paramref name="folder"/>.</summary>
    public static SortedSet<string> TensorNames(string folder)
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        return new SortedSet<string>(file.Entries.Keys, StringComparer.Ordinal);
    }
}
