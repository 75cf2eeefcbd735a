using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Export;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Conversion;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>
/// Mixture-of-Experts artifacts of every conversion method, made in the test from a small random dense model,
/// exported to GGUF and run by llama.cpp: proves each folding of MoESdk's routing into llama.cpp's MoE layout.
/// </summary>
public sealed class MoEExportParityTests(ITestOutputHelper output)
{
    internal static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 128,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 96,
        MaxPositions = 96,
        BosTokenId = 1,
        EosTokenIds = [2],
    };

    private static readonly int[] Prompt = [1, 5, 9, 13, 17, 21, 6, 10, 14, 30, 7, 11, 40, 41];

    [Theory]
    [InlineData("factor", nameof(GgufTensorType.F32))] // fixed N/k scale, PAR-trained router: llama, uniform router
    [InlineData("factor", nameof(GgufTensorType.BF16))]
    [InlineData("cluster", nameof(GgufTensorType.F32))] // fixed scale, analytic router
    [InlineData("coact", nameof(GgufTensorType.F32))] // shared expert: qwen2moe with a zero shared gate
    [InlineData("coact", nameof(GgufTensorType.BF16))]
    [InlineData("tomoe", nameof(GgufTensorType.F32))] // router-weighted top-1
    [InlineData("tomoe", nameof(GgufTensorType.BF16))]
    public void ArtifactMatchesLlamaCpp(string method, string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        string folder = Directory.CreateTempSubdirectory("moe-export-").FullName;
        try
        {
            string artifact = MakeArtifact(method, folder);
            using LanguageModel model = LanguageModel.Open(artifact);
            ExportParity.AssertParity(ExportParity.Measure(model, type, Prompt, method, output), uniformRouter: method != "tomoe");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Converts a random dense model (of <paramref name="config"/>, LLaMA by default) with <paramref name="method"/> (a few training steps) and saves the artifact.</summary>
    internal static string MakeArtifact(string method, string folder, int seed = 3, ModelConfig? config = null)
    {
        using LlamaModel dense = TinyModel.Dense(seed, config ?? Config);
        var options = new ConversionOptions
        {
            Method = ConversionChoice.TryParse(method, out MoEMethod chosen) ? chosen : throw new ArgumentOutOfRangeException(nameof(method), method, "not a method"),
            Experts = method == "coact" ? 3 : 4,
            ExpertsPerToken = method == "tomoe" ? 1 : 2,
            Steps = 3,
            WindowLength = 32,
            CalibrationTokens = 256,
            TrainingBatchSize = 2,
            Seed = seed,
        };
        int[] calibration = TinyModel.Text(512, seed);
        ConversionResult conversion = MoEConverter.Convert(dense, options, calibration);
        using LlamaModel moe = conversion.Model;
        string path = Path.Combine(folder, $"{method}.moe");
        MoEArtifact.Save(path, moe, MoEManifest.ForConversion(method, new SourceModel("random", "0"), dense, conversion, method), tokenizerSource: null);
        return path;
    }
}
