using MoESdk.Export;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>Dense models exported to GGUF and run by llama.cpp: llama2.c checkpoints and the shipped byte-level BPE model.</summary>
public sealed class DenseExportParityTests(ITestOutputHelper output)
{
    private static readonly int[] Prompt = [1, 17, 250, 33, 401, 5, 96, 123, 77, 300, 12, 64];

    [Theory]
    [InlineData("rand-gqa-shared.bin", GgufTensorType.F32)]
    [InlineData("rand-gqa-shared.bin", GgufTensorType.BF16)]
    [InlineData("rand-mha-unshared.bin", GgufTensorType.F32)]
    [InlineData("rand-mha-unshared.bin", GgufTensorType.BF16)]
    public void Llama2cCheckpointMatchesLlamaCpp(string checkpoint, GgufTensorType type)
    {
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "data", "llama2c", checkpoint));
        ExportParity.AssertParity(ExportParity.Measure(model, type, Prompt, checkpoint, output));
    }

    [Theory]
    [InlineData(GgufTensorType.F32)]
    [InlineData(GgufTensorType.BF16)]
    [InlineData(GgufTensorType.F16)]
    [InlineData(GgufTensorType.Q8_0)]
    public void ByteLevelBpeModelMatchesLlamaCpp(GgufTensorType type)
    {
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "kjv-llama"));
        IReadOnlyList<int> prompt = model.RequireTokenizer().Encode("In the beginning God created", addBos: true);
        ExportParity.AssertParity(ExportParity.Measure(model, type, prompt, "kjv-llama", output));
    }
}
