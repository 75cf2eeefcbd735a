using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Loading;

namespace MoESdk.Tests.Adaptation;

/// <summary>
/// A random-weight dense model with the reference tokenizer, written as a Hugging Face folder, and its
/// 4-expert top-2 conversion written as an artifact, in a temp folder deleted on dispose. Tests open
/// copies of it and never write into its files, so one serves a whole test class.
/// </summary>
public sealed class SmallMoEArtifact : IDisposable
{
    public static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 128,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 2048,
        MaxPositions = 256,
    };

    private readonly TempFolder _folder = new();

    public SmallMoEArtifact()
    {
        Directory.CreateDirectory(DensePath);
        using (ModelWeights weights = WeightLayout.Random(Config, seed: 11))
        {
            HuggingFaceConfig.Write(Path.Combine(DensePath, HuggingFaceConfig.FileName), Config);
            SafeTensorsWriter.Write(Path.Combine(DensePath, SafeTensorsCheckpoint.SingleFileName), weights.Tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
        {
            System.IO.File.Copy(Path.Combine(ReferenceTokenizer, file), Path.Combine(DensePath, file));
        }
        using LanguageModel dense = LanguageModel.Open(DensePath);
        var options = new ConversionOptions { Method = MoEMethod.Factor, Experts = 4, ExpertsPerToken = 2, CalibrationTokens = 1024, WindowLength = 64 };
        IReadOnlyList<int> calibration = dense.RequireTokenizer().Encode(Text("calibration.txt", 20_000), addBos: false);
        ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibration);
        using LlamaModel moe = conversion.Model;
        MoEManifest manifest = MoEManifest.ForConversion("small", new SourceModel(DensePath, SourceFingerprint.Compute(DensePath)), dense.Model, conversion, "factor");
        MoEArtifact.Save(ArtifactPath, moe, manifest, DensePath);
    }

    /// <summary>The shipped reference model's folder (its tokenizer files and texts) in the test output.</summary>
    public static string ReferenceTokenizer => Path.Combine(AppContext.BaseDirectory, "kjv-llama");

    /// <summary>The first <paramref name="characters"/> characters of a reference text.</summary>
    public static string Text(string name, int characters)
    {
        string text = System.IO.File.ReadAllText(Path.Combine(ReferenceTokenizer, "data", name));
        return text[..Math.Min(characters, text.Length)];
    }

    public string DensePath => _folder.File("dense");

    public string ArtifactPath => _folder.File("small.moe");

    public string File(string name) => _folder.File(name);

    public void Dispose() => _folder.Dispose();
}
