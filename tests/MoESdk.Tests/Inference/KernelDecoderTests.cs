using MoESdk.Conversion;
using MoESdk.Inference;
using MoESdk.Inference.Kernels;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Inference;

/// <summary>The kernel decode path against the TorchSharp path, step by step, on the same prompt.</summary>
[Trait("Category", "Unit")]
public class KernelDecoderTests
{
    private static ModelConfig Config(bool bias = false, int kvHeads = 2) => new()
    {
        Architecture = bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 128,
        NumLayers = 3,
        NumHeads = 4,
        NumKeyValueHeads = kvHeads,
        VocabSize = 97,
        MaxPositions = 64,
        AttentionBias = bias,
    };

    private static LlamaModel Dense(ModelConfig config, long seed)
    {
        using ModelWeights weights = WeightLayout.Random(config, seed);
        return new LlamaModel(config, weights);
    }

    private static LlamaModel Mixture(LlamaModel dense, ExpertOutputRule rule, int shared, int topK)
    {
        var generator = new Generator(11);
        return new LlamaModel(dense, layer =>
        {
            var ffn = (DenseFeedForward)dense.Layers[layer].FeedForward;
            NeuronPartition split = ContiguousPartitioner.Split(128, 8);
            var partition = new NeuronPartition(split.Experts.Skip(shared).ToArray(), split.Experts.Take(shared).ToArray());
            return ExpertSlicer.Build(ffn, partition, randn([8 - shared, 64], generator: generator), topK, rule);
        });
    }

    /// <summary>Feeds the same prompt, then the same tokens one at a time, to both backends; compares every step's logits.</summary>
    private static void AssertBackendsAgree(LlamaModel model, RoutingContext? routing = null)
    {
        using var kernels = new InferenceSession(model, 40, routing, DecodeBackend.Kernels);
        using var torchPath = new InferenceSession(model, 40, routing, DecodeBackend.Torch);
        Assert.Equal(DecodeBackend.Kernels, kernels.Backend);
        int[] prompt = [5, 17, 3, 88, 41];
        float[] expected = torchPath.Feed(prompt).ToArray();
        float[] actual = kernels.Feed(prompt).ToArray();
        for (int step = 0; step < 30; step++)
        {
            AssertClose(expected, actual, step);
            int next = TokenSampler.ArgMax(expected);
            expected = torchPath.Feed([next]).ToArray();
            actual = kernels.Feed([next]).ToArray();
        }
    }

    private static void AssertClose(float[] expected, float[] actual, int step)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            float tolerance = 1e-4f * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"step {step}, logit {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(false, 4)]
    [InlineData(true, 1)]
    public void DenseDecodeMatchesTorch(bool qwenBias, int kvHeads)
    {
        using LlamaModel model = Dense(Config(qwenBias, kvHeads), seed: 21);
        AssertBackendsAgree(model);
    }

    [Theory]
    [InlineData(ExpertOutputRule.FixedScale, 0, 2)]
    [InlineData(ExpertOutputRule.RouterWeighted, 0, 3)]
    [InlineData(ExpertOutputRule.FixedScale, 1, 2)]
    [InlineData(ExpertOutputRule.RouterWeighted, 2, 6)]
    public void MixtureDecodeMatchesTorch(ExpertOutputRule rule, int shared, int topK)
    {
        using LlamaModel dense = Dense(Config(), seed: 22);
        using LlamaModel moe = Mixture(dense, rule, shared, topK);
        AssertBackendsAgree(moe);
    }

    /// <summary>
    /// A bfloat16 or int8 session computes exactly what float32 computes on weights rounded the same way: the twin
    /// model's product matrices (attention, feed-forward or experts, head; not the router or the embedding) are
    /// rounded in place, and its float32 kernel path must give the same logits as the original's lower precision.
    /// </summary>
    [Theory]
    [InlineData(DecodePrecision.BFloat16, false)]
    [InlineData(DecodePrecision.Int8, false)]
    [InlineData(DecodePrecision.BFloat16, true)]
    [InlineData(DecodePrecision.Int8, true)]
    [InlineData(DecodePrecision.Int4, false)]
    [InlineData(DecodePrecision.Int4, true)]
    public void LowerPrecisionDecodeEqualsFloat32OnRoundedWeights(DecodePrecision precision, bool mixture)
    {
        using LlamaModel dense = Dense(Config(), seed: 23);
        using LlamaModel twinDense = Dense(Config(), seed: 23);
        using LlamaModel model = mixture ? Mixture(dense, ExpertOutputRule.RouterWeighted, 1, 2) : dense;
        using LlamaModel twin = mixture ? Mixture(twinDense, ExpertOutputRule.RouterWeighted, 1, 2) : twinDense;
        Round(twin, precision);

        using var lower = new InferenceSession(model, 40, precision: precision);
        using var reference = new InferenceSession(twin, 40);
        Assert.Equal(precision, lower.Precision);
        // One token at a time from the start: a prompt would be prefilled on TorchSharp in float32, from unrounded weights.
        for (int step = 0; step < 20; step++)
        {
            int token = (step * 31) % 97;
            AssertClose(reference.Feed([token]).ToArray(), lower.Feed([token]).ToArray(), step);
        }
    }

    [Fact]
    public void SessionsOfOneModelShareItsLowerPrecisionCopies()
    {
        using LlamaModel model = Dense(Config(), seed: 24);
        using var first = new InferenceSession(model, 16, precision: DecodePrecision.Int8);
        using var second = new InferenceSession(model, 16, precision: DecodePrecision.Int8);

        Assert.Same(model.DecodeWeights(DecodePrecision.Int8), model.DecodeWeights(DecodePrecision.Int8));
        Assert.True(model.DecodeWeights(DecodePrecision.Int8).CopyBytes > 0);
        Assert.Equal(0, model.DecodeWeights(DecodePrecision.Float32).CopyBytes);
        Assert.Equal(first.Feed([1, 2, 3]).ToArray(), second.Feed([1, 2, 3]).ToArray());
    }

    private static void Round(LlamaModel model, DecodePrecision precision)
    {
        using var noGrad = no_grad();
        IEnumerable<Tensor> matrices = model.Layers.SelectMany(layer =>
        {
            Attention a = layer.Attention;
            IEnumerable<Tensor> ffn = layer.FeedForward switch
            {
                DenseFeedForward d => [d.Gate.Weight, d.Up.Weight, d.Down.Weight],
                MixtureOfExpertsFeedForward m => m.Experts.Concat(m.SharedExperts).SelectMany(e => new Tensor[] { e.Gate.Weight, e.Up.Weight, e.Down.Weight }),
                _ => throw new InvalidOperationException(),
            };
            return new Tensor[] { a.Query.Weight, a.Key.Weight, a.Value.Weight, a.Output.Weight }.Concat(ffn);
        }).Append(model.Head);
        // int8 and int4 leave matrices float32 whose rows are not whole blocks (here the 16-neuron experts' down projections).
        foreach (Tensor matrix in matrices.Where(m => precision == DecodePrecision.BFloat16 || m.shape[1] % Int8Matrix.BlockSize == 0))
        {
            using Tensor rounded = precision switch
            {
                DecodePrecision.BFloat16 => matrix.to(ScalarType.BFloat16).to(ScalarType.Float32),
                DecodePrecision.Int4 => Kernels.MatVecTests.DequantizeInt4(matrix),
                _ => Kernels.MatVecTests.Dequantize(matrix),
            };
            matrix.copy_(rounded);
        }
    }

    [Fact]
    public void ASessionsRoutingTopKAndObserverApplyOnTheKernelPath()
    {
        using LlamaModel dense = Dense(Config(), seed: 23);
        using LlamaModel moe = Mixture(dense, ExpertOutputRule.FixedScale, 0, 2);
        var seen = new List<(int Layer, long[] Chosen)>();
        var routing = new RoutingContext { ExpertsPerToken = 1, Observer = (layer, chosen, _) => seen.Add((layer, chosen.ToArray())) };
        using var session = new InferenceSession(moe, 16, routing: routing);
        session.Feed([1, 2, 3]);
        seen.Clear();
        session.Feed([4]);

        Assert.Equal([0, 1, 2], seen.Select(s => s.Layer));
        Assert.All(seen, s => Assert.Single(s.Chosen));
        AssertBackendsAgree(moe, routing);
        AssertBackendsAgree(moe);
        Assert.All(moe.Layers, l => Assert.Equal(2, ((MixtureOfExpertsFeedForward)l.FeedForward).TopK));
    }

    [Theory]
    [InlineData(ExpertOutputRule.FixedScale)]
    [InlineData(ExpertOutputRule.RouterWeighted)]
    public void RoutingPolicyAppliesOnTheKernelPathAsOnTorch(ExpertOutputRule rule)
    {
        using LlamaModel dense = Dense(Config(), seed: 25);
        using LlamaModel moe = Mixture(dense, rule, 0, 2);
        var seen = new List<long[]>();
        var policy = new ExpertRoutingPolicy(new Dictionary<int, LayerRoutingPolicy>
        {
            [0] = new(disabled: [3], pinned: [4]),
            [1] = new(disabled: [0, 1, 2], pinned: [6], topK: 3),
            [2] = new(disabled: [3], pinned: [4]),
        });
        var routing = new RoutingContext
        {
            Policy = policy,
            Observer = (layer, chosen, _) =>
            {
                if (layer == 1)
                {
                    seen.Add(chosen.ToArray());
                }
            },
        };
        using (var session = new InferenceSession(moe, 16, routing, DecodeBackend.Kernels))
        {
            session.Feed([1, 2, 3]);
            seen.Clear();
            for (int step = 0; step < 5; step++)
            {
                session.Feed([4 + step]);
            }
        }
        Assert.Equal(5, seen.Count);
        Assert.All(seen, chosen =>
        {
            Assert.Equal(3, chosen.Length);
            Assert.Contains(6L, chosen);
            Assert.DoesNotContain(chosen, e => e <= 2);
        });
        AssertBackendsAgree(moe, routing);
    }

    [Fact]
    public void SessionsWithDifferentRoutingShareOneModelOnParallelThreads()
    {
        using LlamaModel dense = Dense(Config(), seed: 26);
        using LlamaModel moe = Mixture(dense, ExpertOutputRule.RouterWeighted, 0, 2);
        RoutingContext[] routings =
        [
            new() { ExpertsPerToken = 1 },
            new() { ExpertsPerToken = 8 },
            new() { Policy = new ExpertRoutingPolicy(Enumerable.Range(0, 3).ToDictionary(l => l, _ => new LayerRoutingPolicy(disabled: [0, 1, 2, 3, 4, 5]))) },
        ];
        int[] prompt = [5, 17, 3];
        // Every step's logits, the prompt and then fixed tokens fed one at a time (the kernel path).
        float[] Run(int i)
        {
            using var session = new InferenceSession(moe, 32, routing: routings[i]);
            var logits = new List<float>(session.Feed(prompt).ToArray());
            for (int token = 1; token <= 8; token++)
            {
                logits.AddRange(session.Feed([token]).ToArray());
            }
            return [.. logits];
        }
        float[][] alone = routings.Select((_, i) => Run(i)).ToArray();
        var together = new float[routings.Length * 2][];
        Parallel.For(0, together.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i => together[i] = Run(i % routings.Length));
        for (int i = 0; i < together.Length; i++)
        {
            Assert.Equal(alone[i % routings.Length], together[i]);
        }
        // The routings do compute different things, so the comparison above can tell them apart.
        Assert.NotEqual(alone[0], alone[1]);
        Assert.NotEqual(alone[1], alone[2]);
        Assert.NotEqual(alone[0], alone[2]);
    }

    [Fact]
    public void InstrumentedBlocksFallBackToTorch()
    {
        using LlamaModel dense = Dense(Config(), seed: 24);
        using var recording = new LlamaModel(dense, layer => new FeedForwardRecorder(dense.Layers[layer].FeedForward, 64));
        using var session = new InferenceSession(recording, 8);
        Assert.Equal(DecodeBackend.Torch, session.Backend);
    }
}
