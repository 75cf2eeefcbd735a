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
/// A model loaded with <see cref="LoadOptions.Precision"/> Int8 or Int4: its matrices quantized as they are read and
/// their float32 values dropped, decoded and prefilled by the kernels in place, scored by TorchSharp a widened matrix
/// at a time.
/// </summary>
[Trait("Category", "Unit")]
public sealed class HeldBlocksTests(SmallMoEArtifact artifact) : IClassFixture<SmallMoEArtifact>
{
    private static readonly string ReferenceModel = Path.Combine(AppContext.BaseDirectory, "kjv-llama");

    private static LoadOptions Held(DecodePrecision precision) => new() { Precision = precision };

    private static string Name(DecodePrecision precision) => precision == DecodePrecision.Int4 ? "int4" : "int8";

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void MatricesAreHeldAsTheFloat32ModelsDecodeCopyWithoutTheFloat32Values(DecodePrecision precision)
    {
        using LoadedModel wide = ModelLoader.Load(ReferenceModel);
        using LoadedModel held = ModelLoader.Load(ReferenceModel, Held(precision));
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
            Assert.Equal(precision, HeldBlocks.PrecisionOf(tensor));
            // The matrix's own shape and element count (parameter counts stay right); in int4 over half a byte per
            // weight, the scales after them.
            Assert.Equal(source.shape, tensor.shape);
            if (precision == DecodePrecision.Int4)
            {
                Assert.Equal(source.numel() / 2, tensor.storage<byte>().Count - (source.numel() / Int8Matrix.BlockSize * sizeof(float)));
            }
            // The values and scales are exactly those of the decode-time copy a float32 model makes.
            using BlockWeights copy = precision == DecodePrecision.Int4
                ? Int4Weights.FromMatrix(TensorMemory.Matrix(source))
                : Int8Weights.FromMatrix(TensorMemory.Matrix(source));
            Assert.Equal(HeldModelRuns.Widened(copy.View), HeldModelRuns.Widened(HeldBlocks.Matrix(tensor)));
        }
        // Every attention and FFN matrix of the reference model, and its head.
        Assert.Equal((7 * wide.Config.NumLayers) + (wide.Config.TieWordEmbeddings ? 0 : 1), matrices);
        Assert.Equal(ScalarType.Float32, held.Weights.Tensors[WeightNames.Embedding].dtype);
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void ASliceOfAHeldMatrixIsRefusedAndTheWidenedMatrixIsTheQuantizedOne(DecodePrecision precision)
    {
        using Tensor source = randn(64, 96);
        using Tensor held = HeldBlocks.Quantize(source, precision);
        using Tensor rows = held.narrow(0, 32, 16);

        Assert.Equal(64, HeldBlocks.Matrix(held).Rows);
        Assert.Contains("not a whole matrix held in int8 or int4", Assert.Throws<ArgumentException>(() => HeldBlocks.Matrix(rows)).Message, StringComparison.Ordinal);
        using Tensor widened = HeldBlocks.Widen(held);
        using Tensor expected = precision == DecodePrecision.Int4 ? Kernels.MatVecTests.DequantizeInt4(source) : Kernels.MatVecTests.Dequantize(source);
        Assert.Equal(expected.data<float>().ToArray(), widened.data<float>().ToArray());
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void KernelDecodeOfTheHeldModelEqualsTheFloat32ModelsDecodeInThatPrecision(DecodePrecision precision)
    {
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Held(precision));
        Assert.Equal(precision, held.Model.HeldPrecision);
        using var expected = new InferenceSession(wide.Model, 64, precision);
        // A model held in blocks has nothing wider to read: float32 asked is its own precision read.
        using var actual = new InferenceSession(held.Model, 64, DecodePrecision.Float32);
        Assert.Equal(precision, actual.Precision);
        foreach (int token in wide.RequireTokenizer().Encode("In the beginning God created the heaven and the earth.", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void PrefillReadsTheHeldMatricesLikeDecode(DecodePrecision precision)
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Held(precision));
        (float[] prefill, float[] step) = HeldModelRuns.PrefillAndSteps(held, "And the LORD spake unto Moses, saying, Speak unto the children of Israel");
        // The same rows and float32 activations; only the order of the sums differs between wide and single steps.
        Assert.InRange(prefill.Zip(step, (p, s) => Math.Abs(p - s)).Max(), 0f, 1e-3f);
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void TheTorchSharpPathWidensEachMatrixAndAgreesWithTheKernels(DecodePrecision precision)
    {
        // The artifact's head is its own matrix, held in blocks on both paths (a tied head is the float32 embedding on
        // TorchSharp and a quantized copy on the kernels, as for any float32 model decoded in int8 or int4).
        using LanguageModel held = MoEArtifact.Open(artifact.ArtifactPath, Held(precision));
        Assert.Equal(precision, HeldBlocks.PrecisionOf(held.Model.Head));
        using var torchPath = new InferenceSession(held.Model, 64, routing: null, DecodeBackend.Torch);
        using var kernels = new InferenceSession(held.Model, 64);
        foreach (int token in held.RequireTokenizer().Encode("Blessed is the man that walketh not in the counsel of the ungodly", addBos: false))
        {
            float[] t = torchPath.Feed([token]).ToArray();
            float[] k = kernels.Feed([token]).ToArray();
            Assert.InRange(t.Zip(k, (a, b) => Math.Abs(a - b)).Max(), 0f, 1e-4f);
        }
    }

    // int8 within 1 % of float32 (the bound; measured +0.001 % on the whole held-out text), int4 within 5 %
    // (measured +1.4 %): a wrong scale or nibble order costs far more.
    [Theory]
    [InlineData(DecodePrecision.Int8, 1.01)]
    [InlineData(DecodePrecision.Int4, 1.05)]
    public void EvaluationOfTheHeldModelKeepsPerplexityNearFloat32(DecodePrecision precision, double bound)
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Held(precision));
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        IReadOnlyList<int> heldOut = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "heldout.txt"))[..6000], addBos: false);
        var windows = new TokenWindows(heldOut, 128);

        double ratio = ModelEvaluator.Perplexity(held.Model, windows).Perplexity / ModelEvaluator.Perplexity(wide.Model, windows).Perplexity;

        Assert.InRange(ratio, 2 - bound, bound);
        Assert.NotEqual(1.0, ratio);
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void AnArtifactKeepsItsRoutersInFloat32AndDecodesLikeItsQuantizedCopy(DecodePrecision precision)
    {
        using LanguageModel wide = MoEArtifact.Open(artifact.ArtifactPath);
        using LanguageModel held = MoEArtifact.Open(artifact.ArtifactPath, Held(precision));
        var block = (MixtureOfExpertsFeedForward)held.Model.Layers[0].FeedForward;
        Assert.Equal(ScalarType.Float32, block.Router.Weight.dtype);
        Assert.All(block.Experts, e => Assert.Equal(precision, HeldBlocks.PrecisionOf(e.Down.Weight)));
        using var expected = new InferenceSession(wide.Model, 64, precision);
        using var actual = new InferenceSession(held.Model, 64);
        foreach (int token in wide.RequireTokenizer().Encode("And God said, Let there be light", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void ConvertingTrainingAndExportingAHeldModelAreRefusedWithTheFix(DecodePrecision precision)
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Held(precision));
        IReadOnlyList<int> calibration = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "calibration.txt")), addBos: false);
        string output = Path.Combine(Path.GetTempPath(), $"moe-{Name(precision)}-export-{Guid.NewGuid():N}");

        var convert = Assert.Throws<ArgumentException>(() => MoESdk.Conversion.MoEConverter.Convert(held.Model, new MoESdk.Conversion.ConversionOptions(), calibration));
        var train = Assert.Throws<ArgumentException>(() => new MoESdk.Training.TrainingLoop(held.Model, held.Model.parameters(), new MoESdk.Training.TrainingLoopOptions(1, 1e-3, 0, 0)));
        var gguf = Assert.Throws<NotSupportedException>(() => GgufExporter.Export(held, output + ".gguf"));
        var huggingFace = Assert.Throws<NotSupportedException>(() => HuggingFaceExporter.Export(held, output));

        Assert.Contains($"held in {precision}", convert.Message, StringComparison.Ordinal);
        Assert.StartsWith("To train a model", train.Message, StringComparison.Ordinal);
        Assert.Contains($"holds its weight matrices in {Name(precision)}", gguf.Message, StringComparison.Ordinal);
        Assert.Contains("open it in float32", huggingFace.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output + ".gguf"));
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public async Task ServingHoldsTheWeightsSoAndGivesEachBatchedRequestItsTextAlone(DecodePrecision precision)
    {
        var options = new MoESdk.Serving.MoEServingOptions { Precision = precision, MaxConcurrentRequests = 4, MaxBatchSize = 4 };
        using MoESdk.Serving.MoEModel model = MoESdk.Serving.MoEModel.Open(ReferenceModel, options);
        Assert.Equal(precision, model.Info.DecodePrecision);

        (string[] alone, string[] together) = await HeldModelRuns.AloneAndBatched(model);

        Assert.Equal(alone, together);
    }
}
