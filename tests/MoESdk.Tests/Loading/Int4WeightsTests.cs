using MoESdk.Artifacts;
using MoESdk.Evaluation;
using MoESdk.Export;
using MoESdk.Inference;
using MoESdk.Inference.Kernels;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Adaptation;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

/// <summary>
/// A model loaded with <see cref="LoadOptions.Precision"/> Int4: its matrices quantized into q4_0 blocks as they are
/// read and their float32 values dropped, decoded and prefilled by the kernels in place, scored by TorchSharp a widened
/// matrix at a time.
/// </summary>
[Trait("Category", "Unit")]
public sealed class Int4WeightsTests(SmallMoEArtifact artifact) : IClassFixture<SmallMoEArtifact>
{
    private static readonly string ReferenceModel = Path.Combine(AppContext.BaseDirectory, "kjv-llama");
    private static readonly LoadOptions Int4 = new() { Precision = DecodePrecision.Int4 };

    [Fact]
    public void MatricesAreHeldAsTheFloat32ModelsInt4CopyInAnEighthOfTheBytes()
    {
        using LoadedModel wide = ModelLoader.Load(ReferenceModel);
        using LoadedModel held = ModelLoader.Load(ReferenceModel, Int4);
        int matrices = 0;
        foreach ((string name, Tensor tensor) in held.Weights.Tensors)
        {
            Tensor source = wide.Weights.Tensors[name];
            if (!HeldBlocks.Applies(name, source.shape))
            {
                Assert.Equal(ScalarType.Float32, tensor.dtype);
                continue;
            }
            matrices++;
            // The matrix's own shape and element count (parameter counts stay right), over half a byte per weight.
            Assert.Equal(source.shape, tensor.shape);
            Assert.Equal(DecodePrecision.Int4, HeldBlocks.PrecisionOf(tensor));
            Assert.Equal(source.numel() / 2, tensor.storage<byte>().Count - (source.numel() / Int8Matrix.BlockSize * sizeof(float)));
            using Int4Weights copy = Int4Weights.FromMatrix(TensorMemory.Matrix(source));
            Assert.Equal(HeldModelRuns.Widened(copy.Matrix), HeldModelRuns.Widened(HeldBlocks.Matrix(tensor)));
        }
        Assert.Equal((7 * wide.Config.NumLayers) + (wide.Config.TieWordEmbeddings ? 0 : 1), matrices);
    }

    [Fact]
    public void ASliceOfAHeldMatrixIsRefusedAndTheWidenedMatrixIsTheQuantizedOne()
    {
        using Tensor source = randn(64, 96);
        using Tensor held = HeldBlocks.Quantize(source, DecodePrecision.Int4);
        using Tensor rows = held.narrow(0, 32, 16);

        Assert.Equal(64, HeldBlocks.Matrix(held).Rows);
        Assert.Contains("not a whole matrix held in int8 or int4", Assert.Throws<ArgumentException>(() => HeldBlocks.Matrix(rows)).Message, StringComparison.Ordinal);
        using Tensor widened = HeldBlocks.Widen(held);
        using Tensor expected = Kernels.MatVecTests.DequantizeInt4(source);
        Assert.Equal(expected.data<float>().ToArray(), widened.data<float>().ToArray());
    }

    [Fact]
    public void KernelDecodeOfTheHeldModelEqualsTheFloat32ModelsInt4Decode()
    {
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int4);
        Assert.Equal(DecodePrecision.Int4, held.Model.HeldPrecision);
        using var expected = new InferenceSession(wide.Model, 64, DecodePrecision.Int4);
        using var actual = new InferenceSession(held.Model, 64, DecodePrecision.Float32);
        Assert.Equal(DecodePrecision.Int4, actual.Precision);
        foreach (int token in wide.RequireTokenizer().Encode("In the beginning God created the heaven and the earth.", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    [Fact]
    public void PrefillReadsTheInt4MatricesLikeDecode()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int4);
        (float[] prefill, float[] step) = HeldModelRuns.PrefillAndSteps(held, "And the LORD spake unto Moses, saying, Speak unto the children of Israel");
        Assert.InRange(prefill.Zip(step, (p, s) => Math.Abs(p - s)).Max(), 0f, 1e-3f);
    }

    [Fact]
    public void TheTorchSharpPathWidensEachMatrixAndAgreesWithTheKernels()
    {
        using LanguageModel held = MoEArtifact.Open(artifact.ArtifactPath, Int4);
        var block = (MixtureOfExpertsFeedForward)held.Model.Layers[0].FeedForward;
        Assert.Equal(ScalarType.Float32, block.Router.Weight.dtype);
        Assert.Equal(DecodePrecision.Int4, HeldBlocks.PrecisionOf(held.Model.Head));
        using var torchPath = new InferenceSession(held.Model, 64, routing: null, DecodeBackend.Torch);
        using var kernels = new InferenceSession(held.Model, 64);
        foreach (int token in held.RequireTokenizer().Encode("Blessed is the man that walketh not in the counsel of the ungodly", addBos: false))
        {
            float[] t = torchPath.Feed([token]).ToArray();
            float[] k = kernels.Feed([token]).ToArray();
            Assert.InRange(t.Zip(k, (a, b) => Math.Abs(a - b)).Max(), 0f, 1e-4f);
        }
    }

    [Fact]
    public void EvaluationOfTheHeldModelKeepsPerplexityWithinFivePercentOfFloat32()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int4);
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        IReadOnlyList<int> heldOut = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "heldout.txt"))[..6000], addBos: false);
        var windows = new TokenWindows(heldOut, 128);

        double ratio = ModelEvaluator.Perplexity(held.Model, windows).Perplexity / ModelEvaluator.Perplexity(wide.Model, windows).Perplexity;

        Assert.InRange(ratio, 1.0, 1.05);
    }

    [Fact]
    public void ConvertingTrainingAndExportingAHeldModelAreRefusedWithTheFix()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int4);
        IReadOnlyList<int> calibration = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "calibration.txt")), addBos: false);
        string output = Path.Combine(Path.GetTempPath(), $"moe-int4-export-{Guid.NewGuid():N}");

        var convert = Assert.Throws<ArgumentException>(() => MoESdk.Conversion.MoEConverter.Convert(held.Model, new MoESdk.Conversion.ConversionOptions(), calibration));
        var gguf = Assert.Throws<NotSupportedException>(() => GgufExporter.Export(held, output + ".gguf"));

        Assert.Contains("held in Int4", convert.Message, StringComparison.Ordinal);
        Assert.Contains("holds its weight matrices in int4", gguf.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output + ".gguf"));
    }

    [Fact]
    public async Task ServingInInt4HoldsTheWeightsSoAndGivesEachBatchedRequestItsTextAlone()
    {
        var options = new MoESdk.Serving.MoEServingOptions { Precision = DecodePrecision.Int4, MaxConcurrentRequests = 4, MaxBatchSize = 4 };
        using MoESdk.Serving.MoEModel model = MoESdk.Serving.MoEModel.Open(ReferenceModel, options);
        Assert.Equal(DecodePrecision.Int4, model.Info.DecodePrecision);

        (string[] alone, string[] together) = await HeldModelRuns.AloneAndBatched(model);

        Assert.Equal(alone, together);
    }
}
