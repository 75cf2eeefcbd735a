using MoESdk.Conversion;
using MoESdk.Inference;
using MoESdk.Inference.Decoding;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Inference;

/// <summary>
/// A prompt fed at once runs on the kernels, up to 32 tokens a step: its logits must be bit for bit those of feeding its
/// tokens one at a time (the same kernels, one token a step), computed in float32 whatever precision decode reads, and
/// within float32 rounding of TorchSharp's forward pass, sliding windows and routing observers included; and fed in steps
/// shared with other sequences' decode tokens (continuous batching), as fed alone.
/// </summary>
[Trait("Category", "Unit")]
public class PromptOnKernelsTests
{
    private static ModelConfig Config(int? slidingWindow = null) => new()
    {
        Architecture = slidingWindow is null ? "LlamaForCausalLM" : "MistralForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 128,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 97,
        MaxPositions = 96,
        SlidingWindow = slidingWindow,
    };

    private static LlamaModel Dense(int? slidingWindow = null)
    {
        using ModelWeights weights = WeightLayout.Random(Config(slidingWindow), 5);
        return new LlamaModel(Config(slidingWindow), weights);
    }

    private static LlamaModel Mixture(LlamaModel dense)
    {
        var generator = new Generator(3);
        return new LlamaModel(dense, layer => ExpertSlicer.Build((DenseFeedForward)dense.Layers[layer].FeedForward,
            ContiguousPartitioner.Split(128, 8), randn([8, 64], generator: generator), 2, ExpertOutputRule.RouterWeighted));
    }

    // 37 tokens: two full steps of sixteen and a partial one.
    private static readonly int[] Prompt = [.. Enumerable.Range(0, 37).Select(i => ((i * 31) + 7) % 97)];

    private static float[] FedOneAtATime(LlamaModel model, IReadOnlyList<int> tokens)
    {
        using var session = new InferenceSession(model, 80);
        float[] logits = [];
        foreach (int token in tokens)
        {
            logits = session.Feed([token]).ToArray();
        }
        return logits;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APromptAfterACachedPrefixEqualsItsTokensFedOneAtATime(bool mixture)
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = mixture ? Mixture(dense) : dense;
        using var session = new InferenceSession(model, 80);
        session.Feed([1, 2, 3]);
        float[] prompted = session.Feed(Prompt).ToArray();
        Assert.Equal(40, session.Position);
        Assert.Equal(FedOneAtATime(model, [1, 2, 3, .. Prompt]), prompted);
        // The keys and values the prompt stored are the ones decode reads next.
        float[] next = session.Feed([TokenSampler.ArgMax(prompted)]).ToArray();
        Assert.Equal(FedOneAtATime(model, [1, 2, 3, .. Prompt, TokenSampler.ArgMax(prompted)]), next);
    }

    [Theory]
    [InlineData(DecodePrecision.BFloat16)]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void APromptIsComputedInFloat32WhateverPrecisionDecodeReads(DecodePrecision precision)
    {
        using LlamaModel model = Dense();
        using var session = new InferenceSession(model, 80, precision);
        Assert.Equal(FedOneAtATime(model, Prompt), session.Feed(Prompt).ToArray());
        Assert.Equal(precision, session.Precision);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(8)]
    public void APromptMatchesTorchSharpsForwardPass(int? slidingWindow)
    {
        using LlamaModel model = Dense(slidingWindow);
        using var session = new InferenceSession(model, 80);
        float[] kernels = session.Feed(Prompt).ToArray();
        float[] torch;
        using (inference_mode())
        using (Tensor ids = tensor(Prompt.Select(t => (long)t).ToArray(), [1, Prompt.Length]))
        using (Tensor logits = model.Forward(ids, 0, null, lastTokenOnly: true))
        {
            torch = logits.flatten().data<float>().ToArray();
        }
        Assert.Equal(torch.Length, kernels.Length);
        Assert.All(torch.Zip(kernels), pair => Assert.Equal(pair.First, pair.Second, 1e-4f));
    }

    [Theory]
    [InlineData(DecodePrecision.Float32)]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void APromptSharingStepsWithAnotherSequencesDecodeEqualsBothAlone(DecodePrecision precision)
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = Mixture(dense);
        using var decoding = new InferenceSession(model, 80, precision);
        using var prompted = new InferenceSession(model, 80, precision);
        decoding.Feed([1, 2, 3]);
        // Two shared steps: the decoding sequence's next token and a chunk of the other's prompt each (in int8, the
        // prompt's float32 lanes and the int8 decode token run as two groups).
        var batch = new DecodeBatch(24);
        InferenceSession.FeedShared(batch, [decoding], [4], [prompted], [new ArraySegment<int>(Prompt, 0, 20)], [false]);
        InferenceSession.FeedShared(batch, [decoding], [5], [prompted], [new ArraySegment<int>(Prompt, 20, 17)], [true]);

        using var decodingAlone = new InferenceSession(model, 80, precision);
        decodingAlone.Feed([1, 2, 3]);
        decodingAlone.Feed([4]);
        Assert.Equal(decodingAlone.Feed([5]).ToArray(), decoding.Logits.ToArray());
        using var promptedAlone = new InferenceSession(model, 80, precision);
        Assert.Equal(promptedAlone.Feed(Prompt).ToArray(), prompted.Logits.ToArray());
        Assert.Equal((5, Prompt.Length), (decoding.Position, prompted.Position));
    }

    [Fact]
    public void EveryPromptTokenIsObservedOncePerLayer()
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = Mixture(dense);
        var seen = new List<int>();
        using var session = new InferenceSession(model, 80, new RoutingContext { Observer = (layer, _, _) => seen.Add(layer) });
        session.Feed(Prompt);
        Assert.Equal(Prompt.Length, seen.Count(layer => layer == 0));
        Assert.Equal(Prompt.Length, seen.Count(layer => layer == 1));
    }
}
