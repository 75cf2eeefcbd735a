using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Export;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// The README's path end to end on the shipped model: convert it FactorLLM-style (contiguous experts, 8 experts, top-2,
/// fixed N/k scale; the training-free router instead of the README's 200 PAR steps, for time: the export path is the
/// same), export the artifact to GGUF, and have llama.cpp tokenize the README's prompt, generate greedily and
/// detokenize: the same ids and the same text as MoESdk. With <c>MOESDK_README_ARTIFACT</c> set to an artifact the
/// README's main command wrote (200 PAR steps: too slow to make here), that artifact is exported and checked instead.
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
                var options = new ConversionOptions { Method = MoEMethod.Factor, Router = MoERouter.Analytic, Experts = 8, ExpertsPerToken = 2, CalibrationTokens = 1024, WindowLength = 64, Seed = 1 };
                string text = File.ReadAllText(Path.Combine(kjv, "data", "calibration.txt"));
                IReadOnlyList<int> calibration = dense.RequireTokenizer().Encode(text[..Math.Min(text.Length, 40_000)], addBos: false);
                ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibration);
                using Modules.LlamaModel moe = conversion.Model;
                MoEArtifact.Save(artifact, moe, MoEManifest.ForConversion("kjv-llama", new SourceModel(kjv, "0"), dense.Model, conversion, "factor"), kjv);
            }
            using LanguageModel model = LanguageModel.Open(artifact);
            string gguf = Path.Combine(folder, "kjv-llama.gguf");
            GgufExporter.Export(model, gguf);
            using LlamaCppModel llama = LlamaCppModel.Load(gguf, 256);

            IReadOnlyList<int> ids = model.RequireTokenizer().Encode(Prompt, addBos: true);
            Assert.Equal(ids, llama.Tokenize(Prompt, addBos: true));
            int[] expected = MoESdkReference.Greedy(model.Model, ids, ExportParity.GreedyTokens);
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
