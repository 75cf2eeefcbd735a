using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Modules;

namespace MoESdk.Tests.Conversion;

/// <summary>
/// Two conversions of the same inputs, as a build makes them (no report), from sources in different folders, write
/// byte-identical artifacts: what a content-addressed cache and reproducible builds rely on.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ReproducibleArtifactTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "moesdk-reproducible-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(MoEMethod.Factor, MoERouter.Analytic)]
    [InlineData(MoEMethod.Factor, MoERouter.Par)]
    [InlineData(MoEMethod.ToMoE, null)]
    public void SameInputsGiveByteIdenticalArtifacts(MoEMethod method, MoERouter? router)
    {
        ConversionOptions options = TinyModel.Options(method) with { Router = router, Steps = method == MoEMethod.ToMoE || router == MoERouter.Par ? 4 : null, Seed = 3 };
        string first = ConvertAndSave(Path.Combine(_root, "first"), options);
        string second = ConvertAndSave(Path.Combine(_root, "elsewhere", "second"), options);

        foreach (string file in new[] { MoEManifest.FileName, "model.safetensors", HuggingFaceConfig.FileName })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(first, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, file))),
                $"{file} differs between two conversions of the same inputs");
        }
        MoEManifest manifest = MoEArtifact.ReadManifest(first);
        Assert.Equal("dense", manifest.Source.Path);
        Assert.Equal(SourceFingerprint.Compute(Path.Combine(_root, "first", "dense")), manifest.Source.Sha256);
        Assert.Null(manifest.Report!.ConversionSeconds);
        Assert.Null(manifest.Report.DensePerplexity);
        Assert.Null(manifest.Report.DecodeSpeedup);
        Assert.Equal(512, manifest.Report.CalibrationTokens);
    }

    /// <summary>Writes the same dense model under <paramref name="folder"/>/dense, converts it and saves <paramref name="folder"/>/tiny.moe.</summary>
    private static string ConvertAndSave(string folder, ConversionOptions options)
    {
        string source = Path.Combine(folder, "dense");
        Directory.CreateDirectory(source);
        using (LlamaModel written = TinyModel.Dense(seed: 31))
        {
            HuggingFaceConfig.Write(Path.Combine(source, HuggingFaceConfig.FileName), TinyModel.Config);
            SafeTensorsWriter.Write(Path.Combine(source, SafeTensorsCheckpoint.SingleFileName), written.NamedWeights(), new Dictionary<string, string> { ["format"] = "pt" });
        }
        using LanguageModel dense = LanguageModel.Open(source);
        ConversionResult conversion = MoEConverter.Convert(dense.Model, options, TinyModel.Text(512, seed: 32));
        using LlamaModel moe = conversion.Model;
        string artifact = Path.Combine(folder, "tiny.moe");
        MoEArtifact.Save(artifact, moe, MoEManifest.ForConversion("tiny", SourceModel.Of(source), dense.Model, conversion, ConversionChoice.Name(options.Method), ConversionReport.Of(conversion)), source);
        return artifact;
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
