using MoESdk.Inference;
using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

/// <summary>
/// A model loaded with <see cref="LoadOptions.Precision"/> BFloat16: held as the file stores it (the reference model's
/// safetensors are bfloat16), decoded by the kernels in place, prefilled by TorchSharp in bfloat16.
/// </summary>
[Trait("Category", "Unit")]
public sealed class BFloat16WeightsTests
{
    private static readonly string ReferenceModel = Path.Combine(AppContext.BaseDirectory, "kjv-llama");
    private static readonly LoadOptions BFloat16 = new() { Precision = DecodePrecision.BFloat16 };

    [Fact]
    public void StoredBFloat16WeightsAreKeptWithoutAFloat32Copy()
    {
        using LoadedModel loaded = ModelLoader.Load(ReferenceModel, BFloat16);
        Assert.All(loaded.Weights.Tensors, pair => Assert.Equal(ScalarType.BFloat16, pair.Value.dtype));
        long bytes = loaded.Weights.Tensors.Values.Sum(t => t.numel() * t.element_size());
        // The file is the tensors plus a small header: the model in memory is the size of its file.
        long file = new FileInfo(Path.Combine(ReferenceModel, "model.safetensors")).Length;
        Assert.InRange(bytes, file - 64 * 1024, file);
    }

    [Theory]
    [InlineData(DecodePrecision.Float32, DecodePrecision.BFloat16)]
    [InlineData(DecodePrecision.Int8, DecodePrecision.Int8)]
    public void KernelDecodeOfTheBFloat16ModelEqualsTheFloat32ModelsDecode(DecodePrecision asked, DecodePrecision read)
    {
        // The file's values are bfloat16: widened to float32 and rounded back by the float32 model's bf16 copies (or
        // quantized to int8 from the same float32 values), they are the same numbers the bfloat16 model reads in place
        // (or quantizes from its widened matrices), so token-by-token decode agrees exactly.
        using LanguageModel wide = LanguageModel.Open(ReferenceModel);
        using LanguageModel half = LanguageModel.Open(ReferenceModel, BFloat16);
        using var expected = new InferenceSession(wide.Model, 64, read);
        using var actual = new InferenceSession(half.Model, 64, asked);
        Assert.Equal(read, actual.Precision);
        IReadOnlyList<int> text = wide.RequireTokenizer().Encode("In the beginning God created the heaven and the earth.", addBos: false);
        foreach (int token in text)
        {
            float[] e = expected.Feed([token]).ToArray();
            float[] a = actual.Feed([token]).ToArray();
            Assert.Equal(e, a);
        }
    }

    [Fact]
    public void BFloat16PrefillAgreesWithTheKernelsWithinBFloat16Rounding()
    {
        using LanguageModel half = LanguageModel.Open(ReferenceModel, BFloat16);
        (float[] prefill, float[] step) = HeldModelRuns.PrefillAndSteps(half, "And the LORD spake unto Moses, saying, Speak unto the children of Israel");
        // TorchSharp rounds every activation to bfloat16 (8 significant bits), the kernels keep them float32.
        float diff = prefill.Zip(step, (p, s) => Math.Abs(p - s)).Max();
        Assert.InRange(diff, 0f, 0.5f);
        Assert.Equal(Array.IndexOf(step, step.Max()), Array.IndexOf(prefill, prefill.Max()));
    }

    [Fact]
    public void ANaNInBFloat16WeightsIsRefusedByName()
    {
        using TempFolder copy = CopyOfReferenceModel();
        string folder = copy.Path;
        using (LoadedModel loaded = ModelLoader.Load(ReferenceModel, BFloat16))
        {
            var tensors = loaded.Weights.Tensors.ToDictionary(p => p.Key, p => p.Value);
            tensors[WeightNames.Down(2)][3, 5] = float.NaN;
            SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        }
        var error = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder, BFloat16).Dispose());
        Assert.Contains(WeightNames.Down(2), error.Message);
        Assert.Contains("NaN", error.Message);
    }

    [Fact]
    public async Task ServingInBFloat16HoldsTheWeightsSoAndScoresLikeFloat32()
    {
        using MoESdk.Serving.MoEModel wide = MoESdk.Serving.MoEModel.Open(ReferenceModel);
        using MoESdk.Serving.MoEModel half = MoESdk.Serving.MoEModel.Open(ReferenceModel, new MoESdk.Serving.MoEServingOptions { Precision = DecodePrecision.BFloat16 });
        string text = File.ReadAllText(Path.Combine(ReferenceModel, "data", "heldout.txt"))[..3000];

        double expected = (await wide.ScoreAsync(text)).Perplexity;
        double actual = (await half.ScoreAsync(text)).Perplexity;

        Assert.Equal(DecodePrecision.BFloat16, half.Info.DecodePrecision);
        // The same bfloat16 weights; only the activations' rounding in bfloat16 differs.
        Assert.InRange(actual / expected, 0.98, 1.02);
    }

    [Fact]
    public async Task BatchedServingOfABFloat16ModelGivesEachRequestItsTextAlone()
    {
        var options = new MoESdk.Serving.MoEServingOptions { Precision = DecodePrecision.BFloat16, MaxConcurrentRequests = 4, MaxBatchSize = 4 };
        using MoESdk.Serving.MoEModel model = MoESdk.Serving.MoEModel.Open(ReferenceModel, options);

        (string[] alone, string[] together) = await HeldModelRuns.AloneAndBatched(model);

        Assert.Equal(alone, together);
    }

    [Fact]
    public void MappedWeightsAreViewsOfTheFileAndDecodeAsCopiedOnes()
    {
        var mappedOptions = BFloat16 with { MapWeights = true };
        string file = Path.GetFullPath(Path.Combine(ReferenceModel, "model.safetensors"));
        using (LoadedModel loaded = ModelLoader.Load(ReferenceModel, mappedOptions))
        {
            Tensor down = loaded.Weights.Tensors[WeightNames.Down(1)];
            Assert.True(InMappingOf(file, down) || !OperatingSystem.IsLinux(), "a bfloat16 matrix loaded with MapWeights lies in the file's mapping");
        }
        using (LoadedModel copied = ModelLoader.Load(ReferenceModel, BFloat16))
        {
            Assert.False(InMappingOf(file, copied.Weights.Tensors[WeightNames.Down(1)]), "without MapWeights the matrix is a copy");
        }
        AssertDecodesAsCopied(ReferenceModel, mappedOptions);
    }

    [Theory]
    [InlineData(DecodePrecision.Float32)]
    [InlineData(DecodePrecision.Int8)]
    public void MappingWeightsOtherThanBFloat16IsRefusedWithTheFix(DecodePrecision precision)
    {
        var error = Assert.Throws<ArgumentException>(() => LanguageModel.Open(ReferenceModel, new LoadOptions { Precision = precision, MapWeights = true }).Dispose());
        Assert.Contains($"needs Precision = BFloat16 (was {precision})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TensorsAtOddOffsetsAreCopiedInsteadOfMapped()
    {
        // One more byte of header puts every tensor at an odd offset, where a bfloat16 view of the file cannot start.
        using TempFolder copy = CopyOfReferenceModel();
        string folder = copy.Path;
        string file = Path.Combine(folder, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(file);
        long header = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(1, (8 + header + 1) % 2);
        using (var output = File.Create(file))
        {
            output.Write(BitConverter.GetBytes(header + 1));
            output.Write(bytes, 8, (int)header);
            output.WriteByte((byte)' ');
            output.Write(bytes, 8 + (int)header, bytes.Length - 8 - (int)header);
        }
        var mappedOptions = BFloat16 with { MapWeights = true };
        using (LoadedModel loaded = ModelLoader.Load(folder, mappedOptions))
        {
            Assert.False(InMappingOf(Path.GetFullPath(file), loaded.Weights.Tensors[WeightNames.Down(1)]));
        }
        AssertDecodesAsCopied(folder, mappedOptions);
    }

    private static TempFolder CopyOfReferenceModel()
    {
        var folder = new TempFolder();
        foreach (string source in Directory.GetFiles(ReferenceModel))
        {
            File.Copy(source, folder.File(Path.GetFileName(source)));
        }
        return folder;
    }

    private static void AssertDecodesAsCopied(string folder, LoadOptions options)
    {
        using LanguageModel copied = LanguageModel.Open(ReferenceModel, BFloat16);
        using LanguageModel mapped = LanguageModel.Open(folder, options);
        using var expected = new InferenceSession(copied.Model, 64);
        using var actual = new InferenceSession(mapped.Model, 64);
        foreach (int token in copied.RequireTokenizer().Encode("And God said, Let there be light", addBos: false))
        {
            Assert.Equal(expected.Feed([token]).ToArray(), actual.Feed([token]).ToArray());
        }
    }

    // Whether the tensor's first element lies in a mapping of the file (Linux's /proc/self/maps; elsewhere no mapping
    // can be seen, and the decode comparison alone runs).
    private static bool InMappingOf(string file, Tensor tensor)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        ulong address = (ulong)MoESdk.Inference.Kernels.TensorMemory.Key(tensor);
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            if (!line.EndsWith(file, StringComparison.Ordinal))
            {
                continue;
            }
            string[] range = line[..line.IndexOf(' ')].Split('-');
            if (address >= Convert.ToUInt64(range[0], 16) && address < Convert.ToUInt64(range[1], 16))
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public void ConvertingOrTrainingABFloat16ModelIsRefusedWithTheFix()
    {
        using LanguageModel half = LanguageModel.Open(ReferenceModel, BFloat16);
        IReadOnlyList<int> calibration = half.RequireTokenizer().Encode(File.ReadAllText(Path.Combine(ReferenceModel, "data", "calibration.txt")), addBos: false);

        var convert = Assert.Throws<ArgumentException>(() => MoESdk.Conversion.MoEConverter.Convert(half.Model, new MoESdk.Conversion.ConversionOptions { Router = MoESdk.Conversion.MoERouter.Analytic }, calibration));
        var train = Assert.Throws<ArgumentException>(() => new MoESdk.Training.TrainingLoop(half.Model, half.Model.parameters(), new MoESdk.Training.TrainingLoopOptions(1, 1e-3, 0, 0)));

        Assert.Contains("held in BFloat16", convert.Message, StringComparison.Ordinal);
        Assert.Contains("open it with the default precision", convert.Message, StringComparison.Ordinal);
        Assert.StartsWith("To train a model", train.Message, StringComparison.Ordinal);
    }
}
