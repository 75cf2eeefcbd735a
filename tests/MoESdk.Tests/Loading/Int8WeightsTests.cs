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
/// A model loaded with <see cref="LoadOptions.Precision"/> Int8: its matrices quantized as they are read and their
/// float32 values dropped, decoded and prefilled by the kernels in place, scored by TorchSharp a widened matrix at a time.
/// </summary>
[Trait("Category", "Unit")]
public sealed class Int8WeightsTests(SmallMoEArtifact artifact) : IClassFixture<SmallMoEArtifact>
{
    private static readonly string ReferenceModel = Path.Combine(AppContext.BaseDirectory, "kjv-llama");
    private static readonly LoadOptions Int8 = new() { Precision = DecodePrecision.Int8 };

    [Fact]
    public unsafe void MatricesAreHeldAsTheFloat32ModelsInt8CopyWithoutTheFloat32Values()
    {
        using LoadedModel wide = ModelLoader.Load(ReferenceModel);
        using LoadedModel held = ModelLoader.Load(ReferenceModel, Int8);
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
            Assert.Equal(ScalarType.Int8, tensor.dtype);
            Assert.Equal(source.shape, tensor.shape);
            // The values and scales are exactly those of the decode-time copy a float32 model makes.
            using Int8Weights copy = Int8Weights.FromMatrix(TensorMemory.Matrix(source));
            Assert.Equal(HeldModelRuns.Widened(copy.Matrix), HeldModelRuns.Widened(HeldBlocks.Matrix(tensor)));
        }
        // Every attention and FFN matrix of the reference model, and its head.
        Assert.Equal((7 * wide.Config.NumLayers) + (wide.Config.TieWordEmbeddings ? 0 : 1), matrices);
        Assert.Equal(ScalarType.Float32, held.Weights.Tensors[WeightNames.Embedding].dtype);
    }

    [Fact]
    public void ASliceOfAHeldMatrixIsRefusedNotReadWithoutItsScales()
    {
        using Tensor source = randn(64, 96);
        using Tensor held = HeldBlocks.Quantize(source, DecodePrecision.Int8);
        using Tensor rows = held.narrow(0, 32, 16);

        Assert.Equal(64, HeldBlocks.Matrix(held).Rows);
        Assert.Contains("not a whole matrix held in int8", Assert.Throws<ArgumentException>(() => HeldBlocks.Matrix(rows)).Message, StringComparison.Ordinal);
        // The widened matrix is the quantized one: every weight within half a block step of the source.
        using Tensor widened = HeldBlocks.Widen(held);
        using Tensor step = source.reshape(-1, Int8Matrix.BlockSize).abs().amax([1], keepdim: true) / 127f;
        Assert.True(((widened - source).reshape(-1, Int8Matrix.BlockSize).abs() <= (step / 2) + 1e-6f).all().item<bool>());
    }

    [Fact]
    public void KernelDecodeOfTheHeldModelEqualsTheFloat32ModelsInt8Decode()
    {
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int8);
        using var expected = new InferenceSession(wide.Model, 64, DecodePrecision.Int8);
        // A model held in int8 has nothing wider to read: float32 asked is int8 read.
        using var actual = new InferenceSession(held.Model, 64, DecodePrecision.Float32);
        Assert.Equal(DecodePrecision.Int8, actual.Precision);
        foreach (int token in wide.RequireTokenizer().Encode("In the beginning God created the heaven and the earth.", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    [Fact]
    public void PrefillReadsTheInt8MatricesLikeDecode()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int8);
        (float[] prefill, float[] step) = HeldModelRuns.PrefillAndSteps(held, "And the LORD spake unto Moses, saying, Speak unto the children of Israel");
        // The same int8 rows and float32 activations; only the order of the sums differs between wide and single steps.
        Assert.InRange(prefill.Zip(step, (p, s) => Math.Abs(p - s)).Max(), 0f, 1e-3f);
    }

    [Fact]
    public void TheTorchSharpPathWidensEachMatrixAndAgreesWithTheKernels()
    {
        // The artifact's head is its own matrix, held in int8 on both paths (a tied head is the float32 embedding on
        // TorchSharp and an int8 copy on the kernels, as for any float32 model decoded in int8).
        using LanguageModel held = MoEArtifact.Open(artifact.ArtifactPath, Int8);
        Assert.Equal(ScalarType.Int8, held.Model.Head.dtype);
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
    public void EvaluationOfTheHeldModelKeepsPerplexityWithinOnePercentOfFloat32()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int8);
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        IReadOnlyList<int> heldOut = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "heldout.txt"))[..6000], addBos: false);
        var windows = new TokenWindows(heldOut, 128);

        double ratio = ModelEvaluator.Perplexity(held.Model, windows).Perplexity / ModelEvaluator.Perplexity(wide.Model, windows).Perplexity;

        Assert.InRange(ratio, 0.99, 1.01);
        Assert.NotEqual(1.0, ratio);
    }

    [Fact]
    public void AnArtifactKeepsItsRoutersInFloat32AndDecodesLikeItsInt8Copy()
    {
        using LanguageModel wide = MoEArtifact.Open(artifact.ArtifactPath);
        using LanguageModel held = MoEArtifact.Open(artifact.ArtifactPath, Int8);
        var block = (MixtureOfExpertsFeedForward)held.Model.Layers[0].FeedForward;
        Assert.Equal(ScalarType.Float32, block.Router.Weight.dtype);
        Assert.All(block.Experts, e => Assert.Equal(ScalarType.Int8, e.Down.Weight.dtype));
        using var expected = new InferenceSession(wide.Model, 64, DecodePrecision.Int8);
        using var actual = new InferenceSession(held.Model, 64);
        foreach (int token in wide.RequireTokenizer().Encode("And God said, Let there be light", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    [Fact]
    public void ConvertingTrainingAndExportingAHeldModelAreRefusedWithTheFix()
    {
        using LanguageModel held = LanguageModel.Open(ReferenceModel, Int8);
        IReadOnlyList<int> calibration = held.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "calibration.txt")), addBos: false);
        string output = Path.Combine(Path.GetTempPath(), $"moe-int8-export-{Guid.NewGuid():N}");

        var convert = Assert.Throws<ArgumentException>(() => MoESdk.Conversion.MoEConverter.Convert(held.Model, new MoESdk.Conversion.ConversionOptions(), calibration));
        var train = Assert.Throws<ArgumentException>(() => new MoESdk.Training.TrainingLoop(held.Model, held.Model.parameters(), new MoESdk.Training.TrainingLoopOptions(1, 1e-3, 0, 0)));
        var gguf = Assert.Throws<NotSupportedException>(() => GgufExporter.Export(held, output + ".gguf"));
        var huggingFace = Assert.Throws<NotSupportedException>(() => HuggingFaceExporter.Export(held, output));

        Assert.Contains("held in Int8", convert.Message, StringComparison.Ordinal);
        Assert.StartsWith("To train a model", train.Message, StringComparison.Ordinal);
        Assert.Contains("open it in float32", gguf.Message, StringComparison.Ordinal);
        Assert.Contains("open it in float32", huggingFace.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output + ".gguf"));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task ServingInInt8HoldsTheWeightsSoAndGivesEachBatchedRequestItsTextAlone()
    {
        var options = new MoESdk.Serving.MoEServingOptions { Precision = DecodePrecision.Int8, MaxConcurrentRequests = 4, MaxBatchSize = 4 };
        using MoESdk.Serving.MoEModel model = MoESdk.Serving.MoEModel.Open(ReferenceModel, options);
        Assert.Equal(DecodePrecision.Int8, model.Info.DecodePrecision);

        (string[] alone, string[] together) = await HeldModelRuns.AloneAndBatched(model);

        Assert.Equal(alone, together);
    }
}
