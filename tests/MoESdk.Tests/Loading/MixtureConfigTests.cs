using MoESdk.Loading;

namespace MoESdk.Tests.Loading;

/// <summary>Mixtral and Qwen2-MoE config.json files read as Mixture-of-Experts configurations, and written back.</summary>
[Trait("Category", "Unit")]
public class MixtureConfigTests
{
    // Abridged from mistralai/Mixtral-8x7B-v0.1's config.json.
    private const string Mixtral = """
        {
          "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_act": "silu", "hidden_size": 4096,
          "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
          "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000, "max_position_embeddings": 32768,
          "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null, "router_aux_loss_coef": 0.02,
          "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2
        }
        """;

    // Abridged from Qwen/Qwen1.5-MoE-A2.7B's config.json.
    private const string Qwen2Moe = """
        {
          "architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "hidden_act": "silu", "hidden_size": 2048,
          "intermediate_size": 5632, "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
          "num_experts": 60, "num_experts_per_tok": 4, "norm_topk_prob": false, "decoder_sparse_step": 1,
          "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 151936,
          "max_position_embeddings": 8192, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
          "tie_word_embeddings": false, "bos_token_id": 151643, "eos_token_id": 151643
        }
        """;

    [Fact]
    public void MixtralReadsAsRenormalizedExpertsOfIntermediateSize()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Mixtral, "config.json");
        Assert.Equal(new MixtureConfig(8, 2, 14336, 0, NormalizeTopK: true), config.Mixture);
        Assert.False(config.AttentionBias);
    }

    [Fact]
    public void Qwen2MoeReadsWithItsSharedExpertBiasesAndUnnormalizedProbabilities()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Qwen2Moe, "config.json");
        Assert.Equal(new MixtureConfig(60, 4, 1408, 5632, NormalizeTopK: false), config.Mixture);
        Assert.True(config.AttentionBias);
    }

    [Theory]
    [InlineData(Mixtral)]
    [InlineData(Qwen2Moe)]
    public void WrittenConfigReadsBackTheSame(string json)
    {
        ModelConfig config = HuggingFaceConfig.Parse(json, "config.json");
        ModelConfig again = HuggingFaceConfig.Parse(HuggingFaceConfig.ToJson(config), "written");
        Assert.Equal(config, again with { EosTokenIds = config.EosTokenIds });
    }

    [Theory]
    [InlineData(Mixtral)]
    [InlineData(Qwen2Moe)]
    public void FloatKeysAreWrittenAsFloats(string json)
    {
        // transformers' config classes check field types: MixtralConfig refused "router_jitter_noise": 0 (an int to Python).
        ModelConfig config = HuggingFaceConfig.Parse(json, "config.json") with { RopeTheta = 10000, RopeScaling = new RopeScaling("llama3", 8, 1, 4, 8192) };
        using var written = System.Text.Json.JsonDocument.Parse(HuggingFaceConfig.ToJson(config));
        System.Text.Json.JsonElement root = written.RootElement;
        var floats = new List<string> { "rms_norm_eps", "rope_theta", "router_aux_loss_coef", "attention_dropout", "initializer_range" };
        if (config.Architecture == HuggingFaceConfig.Mixtral)
        {
            floats.Add("router_jitter_noise");
        }
        foreach (string key in floats)
        {
            Assert.True(IsFloat(root.GetProperty(key)), $"{key} is written as {root.GetProperty(key).GetRawText()}");
        }
        foreach (string key in new[] { "factor", "low_freq_factor", "high_freq_factor" })
        {
            Assert.True(IsFloat(root.GetProperty("rope_scaling").GetProperty(key)), $"rope_scaling.{key} is written as {root.GetProperty("rope_scaling").GetProperty(key).GetRawText()}");
        }
        Assert.Equal("8192", root.GetProperty("rope_scaling").GetProperty("original_max_position_embeddings").GetRawText());
        Assert.Equal(10000.0, HuggingFaceConfig.Parse(written.RootElement.GetRawText(), "written").RopeTheta);

        static bool IsFloat(System.Text.Json.JsonElement value) => value.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0;
    }

    [Fact]
    public void DenseLayersAmongExpertLayersAreRefused()
    {
        string json = Qwen2Moe.Replace("\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 2", StringComparison.Ordinal);
        ModelFormatException error = Assert.Throws<ModelFormatException>(() => HuggingFaceConfig.Parse(json, "config.json"));
        Assert.Contains("decoder_sparse_step", error.Message);
    }

    [Fact]
    public void TopKAboveTheExpertCountIsRefused()
    {
        string json = Mixtral.Replace("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 9", StringComparison.Ordinal);
        Assert.Contains("num_experts_per_tok", Assert.Throws<ModelFormatException>(() => HuggingFaceConfig.Parse(json, "config.json")).Message);
    }

    [Fact]
    public void CheckpointNamesAreTransformersOwn()
    {
        Assert.Equal("model.layers.3.block_sparse_moe.experts.5.w1.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Mixtral, MoEWeightNames.ExpertGate(3, 5)));
        Assert.Equal("model.layers.3.block_sparse_moe.experts.5.w2.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Mixtral, MoEWeightNames.ExpertDown(3, 5)));
        Assert.Equal("model.layers.3.block_sparse_moe.experts.5.w3.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Mixtral, MoEWeightNames.ExpertUp(3, 5)));
        Assert.Equal("model.layers.0.block_sparse_moe.gate.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Mixtral, MoEWeightNames.Router(0)));
        Assert.Equal("model.layers.0.self_attn.q_proj.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Mixtral, WeightNames.Query(0)));
        Assert.Equal("model.layers.1.mlp.shared_expert.up_proj.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Qwen2Moe, MoEWeightNames.SharedUp(1, 0)));
        Assert.Equal("model.layers.1.mlp.shared_expert_gate.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Qwen2Moe, MoEWeightNames.SharedExpertGate(1)));
        Assert.Equal("model.layers.1.mlp.experts.2.down_proj.weight", MoEWeightNames.InCheckpoint(HuggingFaceConfig.Qwen2Moe, MoEWeightNames.ExpertDown(1, 2)));
    }
}
