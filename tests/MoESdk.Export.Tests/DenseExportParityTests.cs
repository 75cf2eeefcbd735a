using MoESdk.Export;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>Dense models exported to GGUF and run by llama.cpp: llama2.c checkpoints and the shipped byte-level BPE model.</summary>
public sealed class DenseExportParityTests(ITestOutputHelper output)
{
    private static readonly int[] Prompt = [1, 17, 250, 33, 401, 5, 96, 123, 77, 300, 12, 64];

    [Theory]
    [InlineData("rand-gqa-shared.bin", nameof(GgufTensorType.F32))]
    [InlineData("rand-gqa-shared.bin", nameof(GgufTensorType.BF16))]
    [InlineData("rand-mha-unshared.bin", nameof(GgufTensorType.F32))]
    [InlineData("rand-mha-unshared.bin", nameof(GgufTensorType.BF16))]
    public void Llama2cCheckpointMatchesLlamaCpp(string checkpoint, string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "data", "llama2c", checkpoint));
        ExportParity.AssertParity(ExportParity.Measure(model, type, Prompt, checkpoint, output));
    }

    [Fact]
    public void Llama2cTokenizerIsExportedAsASentencePieceVocabulary()
    {
        string folder = Directory.CreateTempSubdirectory("moe-gguf-l2c-").FullName;
        try
        {
            string checkpoint = Path.Combine(folder, "model.bin");
            File.Copy(Path.Combine(AppContext.BaseDirectory, "data", "llama2c", "rand-gqa-shared.bin"), checkpoint);
            // llama2.c's export: SentencePiece pieces with '▁' written as ' ', scores by merge priority.
            var vocabulary = new List<(byte[], float)> { ("<unk>"u8.ToArray(), 0), ("\n<s>\n"u8.ToArray(), 0), ("\n</s>\n"u8.ToArray(), 0) };
            vocabulary.AddRange(Enumerable.Range(0, 256).Select(b => (System.Text.Encoding.ASCII.GetBytes($"<0x{b:X2}>"), 0f)));
            string[] pieces = [" ", "t", "h", "e", "a", "d", " t", "he", " the", " a", "é"];
            vocabulary.AddRange(pieces.Select((p, i) => (System.Text.Encoding.UTF8.GetBytes(p), (float)i)));
            Tokenization.Llama2cTokenizerWriter.Write(Path.Combine(folder, "tokenizer.bin"), vocabulary);

            using LanguageModel model = LanguageModel.Open(checkpoint);
            string gguf = Path.Combine(folder, "model.gguf");
            GgufExporter.Export(model, gguf);
            using LlamaCppModel llama = LlamaCppModel.Load(gguf, 64);
            foreach (string text in new[] { "the aé😀 the", "head at the deed" })
            {
                Assert.Equal(model.RequireTokenizer().Encode(text, addBos: true), llama.Tokenize(text, addBos: true));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(nameof(GgufTensorType.F32))]
    [InlineData(nameof(GgufTensorType.BF16))]
    [InlineData(nameof(GgufTensorType.F16))]
    [InlineData(nameof(GgufTensorType.Q8_0))]
    public void ByteLevelBpeModelMatchesLlamaCpp(string typeName)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "kjv-llama"));
        IReadOnlyList<int> prompt = model.RequireTokenizer().Encode("In the beginning God created", addBos: true);
        ExportParity.AssertParity(ExportParity.Measure(model, type, prompt, "kjv-llama", output));
    }
}
