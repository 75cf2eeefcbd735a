using System.Text;
using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Export;
using MoESdk.Loading;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>GGUF files as source models: read back exactly, dequantized like llama.cpp, converted, and refused clearly.</summary>
public sealed class GgufImportTests(ITestOutputHelper output)
{
    private static string Kjv => Path.Combine(AppContext.BaseDirectory, "kjv-llama");

    [Fact]
    public void Float32ExportReadsBackToTheSameModelAndTokenizer()
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-import-").FullName;
        try
        {
            using LanguageModel original = LanguageModel.Open(Kjv);
            string gguf = Path.Combine(folder, "kjv.gguf");
            GgufExporter.Export(original, gguf);
            using LanguageModel imported = LanguageModel.Open(gguf);

            // The vocabulary supplies the BOS id the config.json left out.
            Assert.Equal(original.Model.Config with { EosTokenIds = [], BosTokenId = 1 }, imported.Model.Config with { EosTokenIds = [] });
            IReadOnlyList<int> ids = original.RequireTokenizer().Encode("And God said, Let there be light: and there was light.", addBos: true);
            Assert.Equal(ids, imported.RequireTokenizer().Encode("And God said, Let there be light: and there was light.", addBos: true));
            Assert.Equal(original.RequireTokenizer().Decode(ids), imported.RequireTokenizer().Decode(ids));
            float[] before = MoESdkReference.LastLogits(original.Model, ids);
            float[] after = MoESdkReference.LastLogits(imported.Model, ids);
            Assert.Equal(before, after);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(nameof(GgufTensorType.Q8_0))]
    [InlineData(nameof(GgufTensorType.BF16))]
    public void QuantizedFileIsDequantizedAsLlamaCppReadsIt(string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        string folder = Directory.CreateTempSubdirectory("moe-gguf-import-").FullName;
        try
        {
            using LanguageModel original = LanguageModel.Open(Kjv);
            string gguf = Path.Combine(folder, "kjv.gguf");
            GgufExporter.Export(original, gguf, type);
            using LanguageModel imported = LanguageModel.Open(gguf);
            IReadOnlyList<int> ids = imported.RequireTokenizer().Encode("In the beginning God created the heaven", addBos: true);
            // MoESdk on the dequantized weights against llama.cpp on the same file: only llama.cpp's rounding of
            // activations separates them; against the float32 original, the weights' own rounding adds to it.
            using LlamaCppModel llama = LlamaCppModel.Load(gguf, 128);
            float[] theirs = llama.LastLogits(ids);
            float[] ours = MoESdkReference.LastLogits(imported.Model, ids);
            float[] source = MoESdkReference.LastLogits(original.Model, ids);
            float toLlama = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
            float toSource = ours.Zip(source, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"IMPORT | kjv-llama | {type} | max logit diff to llama.cpp {toLlama:G3}, to the float32 source {toSource:G3}");
            Assert.True(toLlama <= ExportParity.Tolerance(type), $"{type}: {toLlama} from llama.cpp");
            Assert.True(toSource <= ExportParity.Tolerance(type), $"{type}: {toSource} from the source");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ConvertingAGgufSourceGivesAnArtifactWithItsTokenizer()
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-import-").FullName;
        try
        {
            string gguf = Path.Combine(folder, "kjv.gguf");
            using (LanguageModel original = LanguageModel.Open(Kjv))
            {
                GgufExporter.Export(original, gguf, GgufTensorType.F16);
            }
            using LanguageModel dense = LanguageModel.Open(gguf);
            var options = new ConversionOptions { Method = MoEMethod.Cluster, Experts = 4, ExpertsPerToken = 2, CalibrationTokens = 512, WindowLength = 64 };
            IReadOnlyList<int> calibration = dense.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(Kjv, "data", "calibration.txt"))[..6000], addBos: false);
            ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibration);
            using Modules.LlamaModel moe = conversion.Model;
            string artifact = Path.Combine(folder, "kjv.moe");
            MoEArtifact.Save(artifact, moe, MoEManifest.ForConversion("kjv", new SourceModel(gguf, SourceFingerprint.Compute(gguf)), dense.Model, conversion, "cluster"), gguf);

            using LanguageModel opened = LanguageModel.Open(artifact);
            const string Text = "And God said";
            Assert.Equal(dense.RequireTokenizer().Encode(Text, addBos: true), opened.RequireTokenizer().Encode(Text, addBos: true));
            Assert.Equal(MoESdkReference.LastLogits(moe, [1, 50, 60]), MoESdkReference.LastLogits(opened.Model, [1, 50, 60]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void UnsupportedTensorTypeAndTruncationAreRefusedByName()
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-import-").FullName;
        try
        {
            string gguf = Path.Combine(folder, "model.gguf");
            using (LanguageModel original = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "data", "llama2c", "rand-gqa-shared.bin")))
            {
                GgufExporter.Export(original, gguf);
            }
            byte[] bytes = File.ReadAllBytes(gguf);

            // The type field follows the name, the dimension count and two 8-byte dimensions.
            byte[] name = Encoding.UTF8.GetBytes("token_embd.weight");
            int typeOffset = bytes.AsSpan().IndexOf(name) + name.Length + 4 + 16;
            byte[] q4k = (byte[])bytes.Clone();
            BitConverter.TryWriteBytes(q4k.AsSpan(typeOffset, 4), 12u);
            string quantized = Path.Combine(folder, "q4k.gguf");
            File.WriteAllBytes(quantized, q4k);
            ModelFormatException error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(quantized));
            Assert.Contains("Q4_K", error.Message);

            string truncated = Path.Combine(folder, "truncated.gguf");
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(truncated));
            Assert.Contains("truncated", error.Message);
            Assert.Equal(truncated, error.Path);

            string header = Path.Combine(folder, "header.gguf");
            File.WriteAllBytes(header, bytes[..100]);
            error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(header));
            Assert.True(error.Message.Contains("truncated", StringComparison.Ordinal), error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Qwen3ModelReadsBackExactly()
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-import-").FullName;
        try
        {
            ModelConfig config = new()
            {
                Architecture = "Qwen3ForCausalLM", HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
                HeadDim = 32, QueryKeyNorm = true, VocabSize = 80, MaxPositions = 64, RmsNormEpsilon = 1e-6, RopeTheta = 1e6, TieWordEmbeddings = true,
            };
            HuggingFaceExportParityTests.Write(folder, config, seed: 9);
            using LanguageModel original = LanguageModel.Open(folder);
            string gguf = Path.Combine(folder, "model.gguf");
            GgufExporter.Export(original, gguf);
            using LanguageModel imported = LanguageModel.Open(gguf);
            Assert.Equal(original.Model.Config with { EosTokenIds = [] }, imported.Model.Config with { EosTokenIds = [] });
            int[] ids = [1, 5, 9, 30, 44, 70];
            Assert.Equal(MoESdkReference.LastLogits(original.Model, ids), MoESdkReference.LastLogits(imported.Model, ids));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
