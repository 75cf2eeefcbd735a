using System.Text.Json;
using MoESdk.Export;
using MoESdk.Loading;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// MoE artifacts converted from Qwen3 sources (per-head q/k norms, explicit head_dim) and from Qwen2 sources (q/k/v
/// biases) without shared experts: exported as Qwen3-MoE (<c>qwen3moe</c>) and as Qwen2-MoE with a zero shared expert,
/// run by llama.cpp, and exported to Hugging Face folders that read back to the artifact's logits.
/// </summary>
public sealed class SourceArchitectureMoEExportTests(ITestOutputHelper output)
{
    private static readonly ModelConfig Qwen3 = MoEExportParityTests.Config with
    {
        Architecture = "Qwen3ForCausalLM",
        QueryKeyNorm = true,
        HeadDim = 32,
        RopeTheta = 1000000,
        RmsNormEpsilon = 1e-6,
    };

    private static readonly ModelConfig Qwen2 = MoEExportParityTests.Config with
    {
        Architecture = "Qwen2ForCausalLM",
        AttentionBias = true,
        RopeTheta = 1000000,
        RmsNormEpsilon = 1e-6,
    };

    private static readonly int[] Prompt = [1, 5, 9, 13, 17, 21, 6, 10, 14, 30, 7, 11, 40, 41];

    [Theory]
    [InlineData("qwen3", "factor", "F32", "Qwen3MoeForCausalLM")]
    [InlineData("qwen3", "factor", "BF16", "Qwen3MoeForCausalLM")]
    [InlineData("qwen3", "tomoe", "F32", "Qwen3MoeForCausalLM")]
    [InlineData("qwen2", "factor", "F32", "Qwen2MoeForCausalLM")]
    [InlineData("qwen2", "cluster", "BF16", "Qwen2MoeForCausalLM")]
    public void ArtifactMatchesLlamaCppAndRoundTripsThroughHuggingFace(string source, string method, string typeName, string architecture)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        string folder = Directory.CreateTempSubdirectory("moe-src-arch-").FullName;
        try
        {
            string artifact = MoEExportParityTests.MakeArtifact(method, folder, config: source == "qwen3" ? Qwen3 : Qwen2);
            using LanguageModel model = LanguageModel.Open(artifact);
            bool uniform = method != "tomoe";
            string name = $"{source} {method}";
            ExportParity.AssertParity(ExportParity.Measure(model, type, Prompt, name, output), uniform);
            if (type != GgufTensorType.F32)
            {
                return;
            }
            string exported = Path.Combine(folder, "hf");
            HuggingFaceExporter.Export(model, exported);
            using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(exported, "config.json"))))
            {
                Assert.Equal(architecture, config.RootElement.GetProperty("architectures")[0].GetString());
            }
            using LanguageModel reloaded = LanguageModel.Open(exported);
            float diff = MoESdkReference.LastLogits(model.Model, Prompt).Zip(MoESdkReference.LastLogits(reloaded.Model, Prompt), (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"ROUNDTRIP | {name} | hf f32 | max logit diff {diff:G3}");
            Assert.True(diff <= ExportParity.Tolerance(GgufTensorType.F32, uniform), $"{name}: the Hugging Face folder reads back {diff:G3} off the artifact");
            ExportParity.AssertParity(ExportParity.Measure(reloaded, GgufTensorType.F32, Prompt, $"{name} via hf", output), uniform);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("qwen3", "coact", "no shared expert")]
    [InlineData("qwen2", "tomoe", "does not renormalize")]
    public void InexpressibleCombinationsAreRefusedWithTheReason(string source, string method, string reason)
    {
        string folder = Directory.CreateTempSubdirectory("moe-src-arch-").FullName;
        try
        {
            string artifact = MoEExportParityTests.MakeArtifact(method, folder, config: source == "qwen3" ? Qwen3 : Qwen2);
            using LanguageModel model = LanguageModel.Open(artifact);
            Assert.Contains(reason, Assert.Throws<NotSupportedException>(() => GgufExporter.Describe(model, GgufTensorType.F32)).Message);
            Assert.Contains(reason, Assert.Throws<NotSupportedException>(() => HuggingFaceExporter.Export(model, Path.Combine(folder, "hf"))).Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
