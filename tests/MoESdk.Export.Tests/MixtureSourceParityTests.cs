using MoESdk.Export;
using MoESdk.Modules;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// Random-weight Mixtral and Qwen2-MoE models in the Hugging Face layout, opened by MoESdk as Mixture-of-Experts
/// models, exported to GGUF and run by llama.cpp: proves the loader reads those architectures with their own
/// semantics (Mixtral's and Qwen3-MoE's renormalized top-k, Qwen2-MoE's unnormalized probabilities and sigmoid-gated
/// shared expert, Qwen3-MoE's q/k norms).
/// </summary>
public sealed class MixtureSourceParityTests(ITestOutputHelper output)
{
    internal static readonly int[] Prompt = Enumerable.Range(0, 24).Select(i => 3 + (i * 37 + 11) % 120).ToArray();

    [Theory]
    [InlineData("MixtralForCausalLM", "F32")]
    [InlineData("MixtralForCausalLM", "BF16")]
    [InlineData("Qwen2MoeForCausalLM", "F32")]
    [InlineData("Qwen2MoeForCausalLM", "BF16")]
    [InlineData("Qwen3MoeForCausalLM", "F32")]
    [InlineData("Qwen3MoeForCausalLM", "BF16")]
    public void HuggingFaceMoEModelMatchesLlamaCpp(string architecture, string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        string folder = Directory.CreateTempSubdirectory("moe-hf-mixture-").FullName;
        try
        {
            HuggingFaceMoEFolder.Write(folder, architecture, seed: architecture.Length);
            using LanguageModel model = LanguageModel.Open(folder);
            var block = Assert.IsType<MixtureOfExpertsFeedForward>(model.Model.Layers[1].FeedForward);
            Assert.Equal(HuggingFaceMoEFolder.Experts, block.Experts.Count);
            Assert.Equal(HuggingFaceMoEFolder.TopK, block.TopK);
            bool qwen = architecture == "Qwen2MoeForCausalLM";
            Assert.Equal(qwen ? ExpertOutputRule.RouterProbability : ExpertOutputRule.RouterWeighted, block.OutputRule);
            Assert.Equal(architecture == "Qwen3MoeForCausalLM", model.Model.Config.QueryKeyNorm);
            Assert.Equal(qwen, block.SharedExpertGate is not null);
            ExportParity.AssertParity(ExportParity.Measure(model, type, Prompt, architecture, output));
            if (type == GgufTensorType.F32)
            {
                KernelDecode.AssertMatchesForward(model, Prompt);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>MoESdk's own single-token decode kernels against its module forward pass.</summary>
internal static class KernelDecode
{
    public static void AssertMatchesForward(LanguageModel model, int[] prompt)
    {
        using var session = new Inference.InferenceSession(model.Model, 64);
        Assert.Equal(Inference.DecodeBackend.Kernels, session.Backend);
        float[] stepped = [];
        foreach (int token in prompt)
        {
            stepped = session.Feed([token]).ToArray();
        }
        float[] forward = MoESdkReference.LastLogits(model.Model, prompt);
        float diff = stepped.Zip(forward, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff < 1e-3f, $"kernel decode differs from the forward pass by {diff}");
    }
}
