using System.Text.Json;
using MoESdk.Export;
using MoESdk.Loading;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>
/// <c>--format hf</c>: every conversion method's artifact exported as a Hugging Face Mixtral / Qwen2-MoE folder with
/// transformers' exact config keys and tensor names, read back to the artifact's logits, and that folder's GGUF
/// run by llama.cpp; dense models exported under their own architecture read back to identical logits.
/// </summary>
public sealed class HuggingFaceExportTests(ITestOutputHelper output)
{
    private static readonly int[] Prompt = [1, 5, 9, 13, 17, 21, 6, 10, 14, 30, 7, 11, 40, 41];

    [Theory]
    [InlineData("factor", "MixtralForCausalLM")]
    [InlineData("cluster", "MixtralForCausalLM")]
    [InlineData("coact", "Qwen2MoeForCausalLM")]
    [InlineData("tomoe", "MixtralForCausalLM")]
    public void ArtifactRoundTripsThroughHuggingFaceAndMatchesLlamaCpp(string method, string architecture)
    {
        string folder = Directory.CreateTempSubdirectory("moe-hf-export-").FullName;
        try
        {
            string artifact = MoEExportParityTests.MakeArtifact(method, folder);
            string exported = Path.Combine(folder, "hf");
            using LanguageModel model = LanguageModel.Open(artifact);
            HuggingFaceExporter.Export(model, exported);

            using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(exported, "config.json")));
            Assert.Equal(architecture, config.RootElement.GetProperty("architectures")[0].GetString());
            Assert.Equal(ExpectedTensorNames(architecture, model.Model.Config.NumLayers, experts: method == "coact" ? 3 : 4), HuggingFaceMoEFolder.TensorNames(exported));
            Assert.True(File.Exists(Path.Combine(exported, "generation_config.json")));

            using LanguageModel reloaded = LanguageModel.Open(exported);
            float[] expected = MoESdkReference.LastLogits(model.Model, Prompt);
            float[] actual = MoESdkReference.LastLogits(reloaded.Model, Prompt);
            float diff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"ROUNDTRIP | {method} | hf f32 | max logit diff {diff:G3}");
            bool uniform = method != "tomoe";
            Assert.True(diff <= ExportParity.Tolerance(GgufTensorType.F32, uniform), $"{method}: the Hugging Face folder reads back {diff:G3} off the artifact");
            Assert.Equal(MoESdkReference.Greedy(model.Model, Prompt, ExportParity.GreedyTokens), MoESdkReference.Greedy(reloaded.Model, Prompt, ExportParity.GreedyTokens));
            ExportParity.AssertParity(ExportParity.Measure(reloaded, GgufTensorType.F32, Prompt, $"{method} via hf", output), uniform);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("MixtralForCausalLM")]
    [InlineData("Qwen2MoeForCausalLM")]
    [InlineData("Qwen3MoeForCausalLM")]
    public void HuggingFaceMoEModelExportsToItself(string architecture)
    {
        string folder = Directory.CreateTempSubdirectory("moe-hf-self-").FullName;
        try
        {
            string source = Path.Combine(folder, "source");
            Directory.CreateDirectory(source);
            HuggingFaceMoEFolder.Write(source, architecture, seed: 11);
            using LanguageModel model = LanguageModel.Open(source);
            string exported = Path.Combine(folder, "hf");
            HuggingFaceExporter.Export(model, exported);
            Assert.Equal(HuggingFaceMoEFolder.TensorNames(source), HuggingFaceMoEFolder.TensorNames(exported));
            using LanguageModel reloaded = LanguageModel.Open(exported);
            Assert.Equal(model.Model.Config, reloaded.Model.Config with { EosTokenIds = model.Model.Config.EosTokenIds });
            Assert.Equal(model.Model.Config.EosTokenIds, reloaded.Model.Config.EosTokenIds);
            Assert.Equal(MoESdkReference.LastLogits(model.Model, Prompt), MoESdkReference.LastLogits(reloaded.Model, Prompt));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("LlamaForCausalLM")]
    [InlineData("Qwen2ForCausalLM")]
    [InlineData("Qwen3ForCausalLM")]
    public void DenseModelRoundTripsExactly(string architecture)
    {
        ModelConfig config = new()
        {
            Architecture = architecture,
            HiddenSize = 64,
            IntermediateSize = 96,
            NumLayers = 2,
            NumHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 128,
            MaxPositions = 128,
            AttentionBias = architecture == "Qwen2ForCausalLM",
            QueryKeyNorm = architecture == "Qwen3ForCausalLM",
            TieWordEmbeddings = architecture != "LlamaForCausalLM",
            BosTokenId = 1,
            EosTokenIds = [2],
        };
        string folder = Directory.CreateTempSubdirectory("moe-hf-dense-").FullName;
        try
        {
            string source = Path.Combine(folder, "source");
            Directory.CreateDirectory(source);
            HuggingFaceExportParityTests.Write(source, config, seed: 4);
            File.WriteAllText(Path.Combine(source, "tokenizer_config.json"), "{}");
            using LanguageModel model = LanguageModel.Open(source);
            string exported = Path.Combine(folder, "hf");
            HuggingFaceExporter.Export(model, exported, ScalarType.BFloat16);
            Assert.True(File.Exists(Path.Combine(exported, "tokenizer_config.json")));
            Assert.Equal(HuggingFaceMoEFolder.TensorNames(source), HuggingFaceMoEFolder.TensorNames(exported));
            using LanguageModel reloaded = LanguageModel.Open(exported);
            Assert.Equal(model.Model.Config, reloaded.Model.Config with { EosTokenIds = model.Model.Config.EosTokenIds });
            Assert.Equal(model.Model.Config.EosTokenIds, reloaded.Model.Config.EosTokenIds);
            // bf16 storage: each weight rounded to 8 significant bits, the logits move by hundredths at most.
            float diff = MoESdkReference.LastLogits(model.Model, Prompt).Zip(MoESdkReference.LastLogits(reloaded.Model, Prompt), (e, a) => Math.Abs(e - a)).Max();
            Assert.True(diff <= ExportParity.Tolerance(GgufTensorType.BF16), $"bf16 export reads back {diff:G3} off");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>transformers' state-dict names for these shapes (untied head, no biases unless Qwen2-MoE), spelled out.</summary>
    private static SortedSet<string> ExpectedTensorNames(string architecture, int layers, int experts)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal) { "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight" };
        bool qwen = architecture == "Qwen2MoeForCausalLM";
        for (int i = 0; i < layers; i++)
        {
            string l = $"model.layers.{i}.";
            names.UnionWith(new[] { "input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                "self_attn.v_proj.weight", "self_attn.o_proj.weight" }.Select(n => l + n));
            if (!qwen)
            {
                names.Add(l + "block_sparse_moe.gate.weight");
                names.UnionWith(Enumerable.Range(0, experts).SelectMany(e => new[] { "w1", "w2", "w3" }.Select(w => $"{l}block_sparse_moe.experts.{e}.{w}.weight")));
                continue;
            }
            names.UnionWith(new[] { "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias", "mlp.gate.weight", "mlp.shared_expert_gate.weight",
                "mlp.shared_expert.gate_proj.weight", "mlp.shared_expert.up_proj.weight", "mlp.shared_expert.down_proj.weight" }.Select(n => l + n));
            names.UnionWith(Enumerable.Range(0, experts).SelectMany(e => new[] { "gate_proj", "up_proj", "down_proj" }.Select(w => $"{l}mlp.experts.{e}.{w}.weight")));
        }
        return names;
    }
}
