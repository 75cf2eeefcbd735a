using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Modules;

namespace MoESdk.Hosting.Tests;

/// <summary>
/// Real models made once for all tests: a small random-weight Hugging Face folder with the reference model's byte-level
/// BPE tokenizer, and its conversion (4 experts, top-2) written as a real .moe artifact. Deleted at the end.
/// </summary>
public sealed class TestModels : IDisposable
{
    public const int Experts = 4;
    public const int TopK = 2;

    public static ModelConfig Config { get; } = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 256,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 2048,
        MaxPositions = 256,
    };

    public TestModels()
    {
        Directory.CreateDirectory(Root);
        string tokenizer = Path.Combine(AppContext.BaseDirectory, "kjv-tokenizer");
        Directory.CreateDirectory(DensePath);
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(tokenizer, file), Path.Combine(DensePath, file));
        }
        using (ModelWeights weights = WeightLayout.Random(Config, seed: 11))
        {
            HuggingFaceConfig.Write(Path.Combine(DensePath, HuggingFaceConfig.FileName), Config);
            SafeTensorsWriter.Write(Path.Combine(DensePath, SafeTensorsCheckpoint.SingleFileName), weights.Tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        CalibrationText = File.ReadAllText(Path.Combine(tokenizer, "calibration.txt"));
        Convert();
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "moesdk-hosting-tests-" + Guid.NewGuid().ToString("N"));

    public string DensePath => Path.Combine(Root, "dense");

    public string ArtifactPath => Path.Combine(Root, "tiny.moe");

    public string CalibrationText { get; }

    private void Convert()
    {
        using LanguageModel dense = LanguageModel.Open(DensePath);
        IReadOnlyList<int> calibration = dense.RequireTokenizer().Encode(CalibrationText[..8000], addBos: false);
        var options = new ConversionOptions { Method = MoEMethod.Factor, Experts = Experts, ExpertsPerToken = TopK, CalibrationTokens = 1024, WindowLength = 64 };
        ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibration);
        using LlamaModel moe = conversion.Model;
        MoEManifest manifest = MoEManifest.ForConversion("tiny", new SourceModel(DensePath, SourceFingerprint.Compute(DensePath)), dense.Model, conversion, ConversionChoice.Name(options.Method));
        MoEArtifact.Save(ArtifactPath, moe, manifest, DensePath);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<TestModels>
{
    public const string Name = "models";
}
