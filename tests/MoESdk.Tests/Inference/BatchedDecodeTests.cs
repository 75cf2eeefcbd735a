using MoESdk.Conversion;
using MoESdk.Inference;
using MoESdk.Inference.Decoding;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Inference;

/// <summary>
/// A batched decode step of several sessions against each session stepped alone: same model, prompts of different
/// lengths, different routing per session; the logits must be bit for bit equal at every step, in every precision.
/// </summary>
[Trait("Category", "Unit")]
public class BatchedDecodeTests
{
    private static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 128,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 97,
        MaxPositions = 64,
    };

    private static LlamaModel Dense()
    {
        using ModelWeights weights = WeightLayout.Random(Config, 21);
        return new LlamaModel(Config, weights);
    }

    // gated: the shared expert is scaled by sigmoid(w·x), as Qwen2-MoE checkpoints load.
    private static LlamaModel Mixture(LlamaModel dense, int shared, bool gated = false)
    {
        var generator = new Generator(11);
        return new LlamaModel(dense, layer =>
        {
            var ffn = (DenseFeedForward)dense.Layers[layer].FeedForward;
            NeuronPartition split = ContiguousPartitioner.Split(128, 8);
            var partition = new NeuronPartition(split.Experts.Skip(shared).ToArray(), split.Experts.Take(shared).ToArray());
            var block = ExpertSlicer.Build(ffn, partition, randn([8 - shared, 64], generator: generator), 2, ExpertOutputRule.RouterWeighted);
            return gated
                ? new MixtureOfExpertsFeedForward(block.Experts, block.SharedExperts, block.Router.Weight, 2, ExpertOutputRule.RouterWeighted, randn([1, 64], generator: generator))
                : block;
        });
    }

    private static readonly int[][] Prompts = [[5, 17, 3, 88, 41], [7], [60, 2, 9], [11, 12, 13, 14, 15, 16, 17], [90, 1]];

    /// <summary>Greedy tokens of each prompt decoded alone, step by step, and every step's logits.</summary>
    private static List<float[]>[] Alone(LlamaModel model, DecodePrecision precision, Func<int, RoutingContext?> routing, int steps)
    {
        var logits = new List<float[]>[Prompts.Length];
        for (int p = 0; p < Prompts.Length; p++)
        {
            using var session = new InferenceSession(model, 32, routing: routing(p), precision: precision);
            logits[p] = [session.Feed(Prompts[p]).ToArray()];
            for (int step = 0; step < steps; step++)
            {
                logits[p].Add(session.Feed([TokenSampler.ArgMax(logits[p][^1])]).ToArray());
            }
        }
        return logits;
    }

    private static void AssertBatchedEqualsAlone(LlamaModel model, DecodePrecision precision, Func<int, RoutingContext?> routing)
    {
        const int Steps = 6;
        List<float[]>[] expected = Alone(model, precision, routing, Steps);
        var sessions = Prompts.Select((_, p) => new InferenceSession(model, 32, routing: routing(p), precision: precision)).ToArray();
        try
        {
            var batch = new DecodeBatch(Prompts.Length);
            int[] next = new int[Prompts.Length];
            for (int p = 0; p < Prompts.Length; p++)
            {
                Assert.Equal(expected[p][0], sessions[p].Feed(Prompts[p]).ToArray());
                next[p] = TokenSampler.ArgMax(sessions[p].Logits);
            }
            for (int step = 1; step <= Steps; step++)
            {
                // The batch shrinks and grows: a sequence sits out every third step, as a slow reader's does.
                int[] members = Enumerable.Range(0, Prompts.Length).Where(p => (p + step) % 3 != 0 || step == Steps).ToArray();
                InferenceSession.FeedEach(batch, members.Select(p => sessions[p]).ToArray(), members.Select(p => next[p]).ToArray());
                foreach (int p in members)
                {
                    int position = sessions[p].Position - Prompts[p].Length;
                    Assert.True(expected[p][position].AsSpan().SequenceEqual(sessions[p].Logits), $"sequence {p}, step {position}: batched logits differ from decoding alone");
                    next[p] = TokenSampler.ArgMax(sessions[p].Logits);
                }
            }
        }
        finally
        {
            foreach (InferenceSession session in sessions)
            {
                session.Dispose();
            }
        }
    }

    [Theory]
    [InlineData(DecodePrecision.Float32)]
    [InlineData(DecodePrecision.BFloat16)]
    [InlineData(DecodePrecision.Int8)]
    [InlineData(DecodePrecision.Int4)]
    public void DenseBatchEqualsEachSequenceAlone(DecodePrecision precision)
    {
        using LlamaModel model = Dense();
        AssertBatchedEqualsAlone(model, precision, _ => null);
    }

    [Theory]
    [InlineData(DecodePrecision.Float32, 0)]
    [InlineData(DecodePrecision.Float32, 1)]
    [InlineData(DecodePrecision.BFloat16, 1)]
    [InlineData(DecodePrecision.Int8, 0)]
    [InlineData(DecodePrecision.Int4, 1)]
    public void MixtureBatchWithOwnRoutingPerSequenceEqualsEachAlone(DecodePrecision precision, int shared)
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = Mixture(dense, shared);
        // Sequences route with different top-k, so the step's tokens share some experts and not others.
        AssertBatchedEqualsAlone(model, precision, p => new RoutingContext { ExpertsPerToken = 1 + (p % 3) });
    }

    [Fact]
    public void AGatedSharedExpertIsWeighedPerSequenceInABatch()
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = Mixture(dense, 1, gated: true);
        AssertBatchedEqualsAlone(model, DecodePrecision.Float32, _ => null);
    }

    [Fact]
    public void EachSequenceObservesOnlyItsOwnExpertChoices()
    {
        using LlamaModel dense = Dense();
        using LlamaModel model = Mixture(dense, 0);
        var seen = new List<int>[2];
        RoutingContext Routing(int p)
        {
            seen[p] = [];
            return new RoutingContext { ExpertsPerToken = p + 1, Observer = (_, chosen, k) => seen[p].Add(k) };
        }
        using var first = new InferenceSession(model, 16, routing: Routing(0));
        using var second = new InferenceSession(model, 16, routing: Routing(1));
        first.Feed([1]);
        second.Feed([2]);
        seen[0].Clear();
        seen[1].Clear();
        InferenceSession.FeedEach(new DecodeBatch(2), [first, second], [3, 4]);
        Assert.Equal([1, 1], seen[0]);
        Assert.Equal([2, 2], seen[1]);
    }
}
