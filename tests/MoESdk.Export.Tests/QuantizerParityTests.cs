using LLama.Native;
using MoESdk.Export;
using MoESdk.Loading;

namespace MoESdk.Export.Tests;

/// <summary>
/// MoESdk's block quantizers against llama.cpp's own (llama-quantize, through LLamaSharp): the reference model exported
/// in float32 and quantized by llama.cpp, and exported by MoESdk in the same type, must hold the same bytes in every
/// quantized matrix. The int4 and int8 decode weights come from the same quantizers (the Q4_0 export calls the int4
/// one), so this pins the blocks a model held in int4 decodes with to llama.cpp's q4_0.
/// </summary>
public sealed class QuantizerParityTests
{
    [Theory]
    [InlineData(nameof(GgufTensorType.Q4_0), LLamaFtype.MOSTLY_Q4_0)]
    [InlineData(nameof(GgufTensorType.Q8_0), LLamaFtype.MOSTLY_Q8_0)]
    public void QuantizedMatricesHoldTheBytesLlamaCppsQuantizerWrites(string typeName, LLamaFtype llamaType)
    {
        GgufTensorType type = Enum.Parse<GgufTensorType>(typeName);
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, "kjv-llama"));
        string folder = Directory.CreateTempSubdirectory("moe-gguf-quantizer-").FullName;
        try
        {
            string wide = Path.Combine(folder, "f32.gguf"), theirs = Path.Combine(folder, "theirs.gguf"), ours = Path.Combine(folder, "ours.gguf");
            GgufExporter.Export(model, wide, GgufTensorType.F32);
            LlamaCppModel.Quantize(wide, theirs, llamaType);
            GgufExporter.Export(model, ours, type);

            using GgufFile expected = GgufFile.Open(theirs);
            using GgufFile actual = GgufFile.Open(ours);
            byte[] expectedBytes = File.ReadAllBytes(theirs), actualBytes = File.ReadAllBytes(ours);
            int compared = 0;
            foreach ((string name, (long[] shape, uint tensorType, long offset)) in expected.Tensors.Where(t => t.Value.Type == (uint)type))
            {
                (long[] ourShape, uint ourType, long ourOffset) = actual.Tensors[name];
                Assert.Equal(shape, ourShape);
                Assert.Equal(tensorType, ourType);
                int length = checked((int)GgufTensorEncoding.ByteCount(type, shape.Aggregate(1L, (a, b) => a * b)));
                Assert.True(expectedBytes.AsSpan(checked((int)offset), length).SequenceEqual(actualBytes.AsSpan(checked((int)ourOffset), length)), $"{name} differs from llama.cpp's {type}");
                compared++;
            }
            // Every attention and feed-forward matrix of the five layers.
            Assert.Equal(7 * model.Model.Config.NumLayers, compared);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
