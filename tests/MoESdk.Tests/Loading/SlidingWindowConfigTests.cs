using MoESdk.Loading;

namespace MoESdk.Tests.Loading;

/// <summary>Mistral's and Mixtral's sliding_window as transformers reads it, and written back.</summary>
[Trait("Category", "Unit")]
public class SlidingWindowConfigTests
{
    private const string Mistral = """
        {
          "architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
          "num_attention_heads": 4, "vocab_size": 100, "sliding_window": 16
        }
        """;

    [Fact]
    public void MistralWindowIsReadAndWrittenBack()
    {
        ModelConfig config = HuggingFaceConfig.Parse(Mistral, "config.json");
        Assert.Equal(16, config.SlidingWindow);
        Assert.Equal(16, HuggingFaceConfig.Parse(HuggingFaceConfig.ToJson(config), "written").SlidingWindow);
    }

    [Fact]
    public void AbsentWindowTakesTransformersDefaultsAndNullMeansNone()
    {
        // MistralConfig defaults to 4096; MixtralConfig to none.
        Assert.Equal(4096, HuggingFaceConfig.Parse(Mistral.Replace("\"sliding_window\": 16", "\"rope_theta\": 10000", StringComparison.Ordinal), "c").SlidingWindow);
        Assert.Null(HuggingFaceConfig.Parse(Mistral.Replace("16", "null", StringComparison.Ordinal), "c").SlidingWindow);
        Assert.Null(HuggingFaceConfig.Parse(Mistral.Replace("MistralForCausalLM", "LlamaForCausalLM", StringComparison.Ordinal), "c").SlidingWindow);
    }

    [Fact]
    public void NonPositiveWindowIsRefused() =>
        Assert.Contains("sliding_window", Assert.Throws<ModelFormatException>(
            () => HuggingFaceConfig.Parse(Mistral.Replace("16", "0", StringComparison.Ordinal), "config.json")).Message);
}
