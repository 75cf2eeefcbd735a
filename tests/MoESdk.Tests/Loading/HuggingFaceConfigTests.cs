using MoESdk.Loading;

namespace MoESdk.Tests.Loading;

[Trait("Category", "Unit")]
public class HuggingFaceConfigTests
{
    // Abridged from meta-llama/Llama-3.2-1B's config.json.
    private const string Llama32 = """
        {
          "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
          "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
          "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
          "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
          "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                           "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
          "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16"
        }
        """;

    // Abridged from mistralai/Mistral-7B-v0.1.
    private const string Mistral = """
        {
          "architectures": ["MistralForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
          "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
          "num_key_value_heads": 8, "vocab_size": 32000, "max_position_embeddings": 32768,
          "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
          "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2
        }
        """;

    // Abridged from Qwen/Qwen2-0.5B.
    private const string Qwen2 = """
        {
          "architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 896,
          "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
          "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 131072,
          "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null,
          "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151643
        }
        """;

    // Abridged from Qwen/Qwen3-0.6B: heads of 128 on a hidden size of 1024 with 16 query heads.
    private const string Qwen3 = """
        {
          "architectures": ["Qwen3ForCausalLM"], "hidden_act": "silu", "hidden_size": 1024, "head_dim": 128,
          "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
          "num_key_value_heads": 8, "vocab_size": 151936, "max_position_embeddings": 40960,
          "rms_norm_eps": 1e-06, "rope_theta": 1000000, "rope_scaling": null, "attention_bias": false,
          "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151645
        }
        """;

    [Fact]
    public void ParsesQwen3WithExplicitHeadWidthAndQueryKeyNorms()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Qwen3, "config.json");

        Assert.Equal("Qwen3ForCausalLM", config.Architecture);
        Assert.Equal(128, config.HeadDim);
        Assert.True(config.QueryKeyNorm);
        Assert.False(config.AttentionBias);
        Assert.Equal([16 * 128L, 1024], WeightLayout.Expected(config).Single(t => t.Name == WeightNames.Query(0)).Shape);
        Assert.Equal([128L], WeightLayout.Expected(config).Single(t => t.Name == WeightNames.KeyNorm(0)).Shape);
    }

    [Fact]
    public void ParsesLlama3WithGroupedQueryAttentionRopeScalingAndTiedHead()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Llama32, "config.json");

        Assert.Equal("LlamaForCausalLM", config.Architecture);
        Assert.Equal((2048, 8192, 16, 32, 8, 128256, 131072), (config.HiddenSize, config.IntermediateSize, config.NumLayers,
            config.NumHeads, config.NumKeyValueHeads, config.VocabSize, config.MaxPositions));
        Assert.Equal(64, config.HeadDim);
        Assert.Equal(1e-5, config.RmsNormEpsilon);
        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), config.RopeScaling);
        Assert.True(config.TieWordEmbeddings);
        Assert.False(config.AttentionBias);
        Assert.Equal(128000, config.BosTokenId);
        Assert.Equal([128001, 128008, 128009], config.EosTokenIds);
    }

    [Fact]
    public void ParsesMistralWithUntiedHeadAndSingleEos()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Mistral, "config.json");

        Assert.Equal("MistralForCausalLM", config.Architecture);
        Assert.Equal(8, config.NumKeyValueHeads);
        Assert.False(config.TieWordEmbeddings);
        Assert.Null(config.RopeScaling);
        Assert.Equal([2], config.EosTokenIds);
    }

    [Fact]
    public void ParsesQwen2WithAttentionBias()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Qwen2, "config.json");

        Assert.Equal("Qwen2ForCausalLM", config.Architecture);
        Assert.True(config.AttentionBias);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(2, config.NumKeyValueHeads);
        Assert.Equal(1e-6, config.RmsNormEpsilon);
        Assert.Equal([151643], config.EosTokenIds);
    }

    [Theory]
    [InlineData("""{"type": "linear", "factor": 2.0}""", "linear", 2.0, null)]
    [InlineData("""{"rope_type": "dynamic", "factor": 4.0}""", "dynamic", 4.0, 2048)]
    [InlineData("""{"type": "dynamic", "factor": 4.0, "original_max_position_embeddings": 1024}""", "dynamic", 4.0, 1024)]
    public void ParsesLinearAndDynamicRopeScalingUnderEitherKey(string scaling, string type, double factor, int? original)
    {
        string json = $$"""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10,"max_position_embeddings":2048,"rope_scaling":{{scaling}}}""";

        RopeScaling? parsed = HuggingFaceConfig.Parse(json, "config.json").RopeScaling;

        Assert.NotNull(parsed);
        Assert.Equal((type, factor), (parsed.Type, parsed.Factor));
        if (original is not null)
        {
            Assert.Equal(original, parsed.OriginalMaxPositions);
        }
    }

    [Fact]
    public void AbsentOptionalKeysTakeTransformersDefaults()
    {
        ModelConfig config = HuggingFaceConfig.Parse(
            """{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10}""",
            "config.json");

        Assert.Equal(4, config.NumKeyValueHeads);
        Assert.Equal(2048, config.MaxPositions);
        Assert.Equal(1e-6, config.RmsNormEpsilon);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.False(config.TieWordEmbeddings);
        Assert.Null(config.BosTokenId);
        Assert.Empty(config.EosTokenIds);
    }

    [Theory]
    [InlineData("""{"architectures":["GPT2LMHeadModel"]}""", "'GPT2LMHeadModel' is not supported; supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64}""", "required key \"num_attention_heads\" is missing")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":"64"}""", "\"hidden_size\" must be an integer")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_act":"gelu"}""", "hidden_act 'gelu'")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":3,"vocab_size":10}""", "not a multiple of the key/value head count 3")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10,"rope_scaling":{"rope_type":"yarn","factor":4}}""", "'yarn' is not supported")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10,"rope_scaling":{"rope_type":"llama3","factor":4}}""", "\"rope_scaling.low_freq_factor\" is missing")]
    [InlineData("""{"hidden_size": 64,""", "not valid JSON")]
    public void InvalidConfigNamesFileAndProblem(string json, string expected)
    {
        var error = Assert.Throws<ModelFormatException>(() => HuggingFaceConfig.Parse(json, "/m/config.json"));

        Assert.Equal("/m/config.json", error.Path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Llama32)]
    [InlineData(Mistral)]
    [InlineData(Qwen2)]
    [InlineData(Qwen3)]
    public void WrittenConfigReadsBackEqual(string json)
    {
        using var folder = new TempFolder();
        ModelConfig config = HuggingFaceConfig.Parse(json, "config.json");
        string path = folder.File("config.json");

        HuggingFaceConfig.Write(path, config);
        ModelConfig read = HuggingFaceConfig.Read(path);

        Assert.Equal(config with { EosTokenIds = [] }, read with { EosTokenIds = [] });
        Assert.Equal(config.EosTokenIds, read.EosTokenIds);
    }
}
