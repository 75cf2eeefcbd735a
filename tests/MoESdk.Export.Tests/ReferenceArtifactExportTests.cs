using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Export;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// The README's path end to end on the shipped model: convert it with the hardest recipe for an export (FactorLLM:
/// contiguous experts, 8 experts, top-2, fixed N/k scale, a PAR router trained for 200 steps on the calibration text),
/// export the artifact to GGUF, and have llama.cpp tokenize the README's prompt, generate greedily and detokenize: the
/// same ids and the same text as <c>moe generate --temperature 0</c>. The trained router is what makes this hard: its logits are a few tenths apart
/// and near-ties of 10⁻³ occur within 20 tokens, which the uniform-weight folding must not swap. With
/// <c>MOESDK_README_ARTIFACT</c> set to an artifact the README's main command wrote (the default recipe), that artifact
/// is checked instead.
/// </summary>
public sealed class ReferenceArtifactExportTests(ITestOutputHelper output)
{
    private const string Prompt = "And God said";

    [Fact]
    public void ExportedArtifactAnswersTheReadmePromptWithTheSameGreedyText()
    {
        string kjv = Path.Combine(AppContext.BaseDirectory, "kjv-llama");
        string folder = Directory.CreateTempSubdirectory("moe-kjv-").FullName;
        try
        {
            string? readme = Environment.GetEnvironmentVariable("MOESDK_README_ARTIFACT") is { Length: > 0 } path ? Path.GetFullPath(path) : null;
            string artifact = readme ?? Path.Combine(folder, "kjv-llama.moe");
            Assert.True(readme is null || Directory.Exists(readme), $"MOESDK_README_ARTIFACT: no artifact at {readme}");
            if (readme is null)
            {
                using LanguageModel dense = LanguageModel.Open(kjv);
                var options = new ConversionOptions { Method = MoEMethod.Factor, Experts = 8, ExpertsPerToken = 2 };
                string text = CalibrationText.Decode(File.ReadAllBytes(Path.Combine(kjv, "data", "calibration.txt")));
                IReadOnlyList<int> calibration = dense.RequireTokenizer().Encode(text, addBos: false);
                ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibration);
                using Modules.LlamaModel moe = conversion.Model;
                MoEArtifact.Save(artifact, moe, MoEManifest.ForConversion("kjv-llama", new SourceModel(kjv, "0"), dense.Model, conversion, "factor"), kjv);
            }
            using LanguageModel model = LanguageModel.Open(artifact);
            string gguf = Path.Combine(folder, "kjv-llama.gguf");
            GgufExporter.Export(model, gguf);
            using LlamaCppModel llama = LlamaCppModel.Load(gguf, 256);

            // The prompt as `moe generate` reads it, and as llama.cpp reads it from the GGUF's own tokenizer metadata.
            IReadOnlyList<int> ids = model.EncodePrompt(Prompt);
            Assert.Equal(ids, llama.Tokenize(Prompt, addBos: true));
            // `moe generate --temperature 0`: the session and kernel decoder it runs.
            using var session = new Inference.InferenceSession(model.Model);
            int[] expected = [.. session.Generate(ids, new Inference.GenerationOptions { MaxTokens = ExportParity.GreedyTokens, Sampling = new Inference.SamplingOptions { Temperature = 0 } })];
            int[] actual = llama.Greedy(ids, ExportParity.GreedyTokens);
            string expectedText = model.RequireTokenizer().Decode(expected);
            output.WriteLine($"MoESdk:    {Prompt}{expectedText}");
            output.WriteLine($"llama.cpp: {Prompt}{llama.Detokenize(actual)}");
            Assert.Equal(expected, actual);
            Assert.Equal(expectedText, llama.Detokenize(actual));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
