using MoESdk.Conversion;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Modules;

[Trait("Category", "Unit")]
public class RoutingPolicyTests
{
    private static MixtureOfExpertsFeedForward Block(ExpertOutputRule rule, int topK, int seed)
    {
        var g = new Generator((ulong)seed);
        using var dense = new DenseFeedForward(randn([64, 16], generator: g) * 0.1, randn([64, 16], generator: g) * 0.1, randn([16, 64], generator: g) * 0.1);
        return ExpertSlicer.Build(dense, ContiguousPartitioner.Split(64, 8), randn([8, 16], generator: g), topK, rule);
    }

    private static RoutingContext Routing(LayerRoutingPolicy layer0) =>
        new() { Policy = new ExpertRoutingPolicy(new Dictionary<int, LayerRoutingPolicy> { [0] = layer0 }) };

    [Theory]
    [InlineData(ExpertOutputRule.FixedScale)]
    [InlineData(ExpertOutputRule.RouterWeighted)]
    public void DisabledExpertsAreNeverChosenAndPinnedAlwaysAre(ExpertOutputRule rule)
    {
        using var scope = NewDisposeScope();
        using MixtureOfExpertsFeedForward block = Block(rule, 3, 1);
        Tensor logits = randn(200, 8);
        // Without a policy expert 0 wins some tokens and expert 5 loses most: the policy has to change both.
        long[] free = block.Route(logits).Indices.data<long>().ToArray();
        Assert.Contains(0L, free);
        Assert.True(free.Count(e => e == 5) < 200);

        (Tensor indices, Tensor weights) = block.Route(logits, Routing(new LayerRoutingPolicy(disabled: [0, 1], pinned: [5])).ForLayer(0, block));
        long[][] rows = Enumerable.Range(0, 200).Select(t => indices[t].data<long>().ToArray()).ToArray();
        Assert.All(rows, row =>
        {
            Assert.Equal(3, row.Length);
            Assert.Contains(5L, row);
            Assert.DoesNotContain(0L, row);
            Assert.DoesNotContain(1L, row);
        });
        Assert.True(weights.isfinite().all().item<bool>());
        if (rule == ExpertOutputRule.RouterWeighted)
        {
            // Softmax over the chosen experts' own logits: the pin forces the choice, not the weight.
            Tensor expected = logits.gather(-1, indices).softmax(-1);
            Assert.True((expected - weights).abs().max().item<float>() < 1e-6f);
        }
        else
        {
            Assert.True((weights - 8f / 3).abs().max().item<float>() < 1e-6f);
        }
    }

    [Fact]
    public void APolicyTopKChangesTheRoutesExpertsPerTokenAndFixedScaleNotTheBlocks()
    {
        using var scope = NewDisposeScope();
        using MixtureOfExpertsFeedForward block = Block(ExpertOutputRule.FixedScale, 2, 2);
        ExpertRoute route = Routing(new LayerRoutingPolicy(pinned: [7], topK: 4)).ForLayer(0, block);
        Assert.Equal(4, route.ExpertsPerToken);
        Assert.Equal(2f, route.FixedScale);
        (Tensor indices, _) = block.Route(randn(10, 8), route);
        Assert.Equal([10L, 4L], indices.shape);

        // The block itself is unchanged: its own top-k and scale.
        Assert.Equal(2, block.TopK);
        Assert.Equal(4f, block.FixedScale);
        Assert.Same(block.DefaultRoute, RoutingContext.Default.ForLayer(0, block));
    }

    [Fact]
    public void ForwardUnderAPolicyRunsOnlyTheAllowedExperts()
    {
        using var scope = NewDisposeScope();
        using MixtureOfExpertsFeedForward block = Block(ExpertOutputRule.FixedScale, 2, 3);
        RoutingContext routing = Routing(new LayerRoutingPolicy(disabled: [2, 3, 4, 5, 6, 7], pinned: [0]));
        Tensor x = randn(6, 16);
        using var noGrad = no_grad();
        // Only experts 0 and 1 remain, so every token runs both, each scaled by N/k = 4.
        Tensor expected = (block.Experts[0].forward(x) + block.Experts[1].forward(x)) * 4f;
        Assert.True((expected - block.Forward(x, 0, routing)).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void PoliciesThatCannotRouteAreRejectedWithTheReason()
    {
        using MixtureOfExpertsFeedForward block = Block(ExpertOutputRule.FixedScale, 2, 4);
        Assert.Contains("disables all 8 experts", Assert.Throws<ArgumentException>(() => Routing(new LayerRoutingPolicy(disabled: Enumerable.Range(0, 8))).ForLayer(0, block)).Message);
        Assert.Contains("leaves 1 enabled experts", Assert.Throws<ArgumentException>(() => Routing(new LayerRoutingPolicy(disabled: Enumerable.Range(1, 7))).ForLayer(0, block)).Message);
        Assert.Contains("pins 3 experts", Assert.Throws<ArgumentException>(() => Routing(new LayerRoutingPolicy(pinned: [0, 1, 2])).ForLayer(0, block)).Message);
        Assert.Contains("does not have", Assert.Throws<ArgumentException>(() => Routing(new LayerRoutingPolicy(disabled: [8])).ForLayer(0, block)).Message);
        Assert.Contains("both disabled and pinned", Assert.Throws<ArgumentException>(() => new LayerRoutingPolicy(disabled: [1, 2], pinned: [2])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerRoutingPolicy(disabled: [-1]));

        // A run's top-k that its policy cannot route is refused too, naming the layer; so is one above the experts.
        var pinsTwo = new RoutingContext { ExpertsPerToken = 1, Policy = new ExpertRoutingPolicy(new Dictionary<int, LayerRoutingPolicy> { [3] = new(pinned: [0, 1]) }) };
        Assert.Contains("pins 2 experts in layer 3", Assert.Throws<ArgumentException>(() => pinsTwo.ForLayer(3, block)).Message);
        Assert.Contains("1..8", Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingContext { ExpertsPerToken = 9 }.ForLayer(0, block)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RoutingContext { ExpertsPerToken = 0 });
    }

    [Fact]
    public void AModelPolicyNamesTheLayerThatDoesNotFit()
    {
        var policy = new ExpertRoutingPolicy(new Dictionary<int, LayerRoutingPolicy>
        {
            [0] = new(disabled: [1]),
            [2] = new(pinned: [0, 1, 2]),
        });
        policy.Validate([8, 8, 8], topK: 3);
        Assert.Contains("layer 2", Assert.Throws<ArgumentException>(() => policy.Validate([8, 8, 8], topK: 2)).Message);
        Assert.Contains("layers 0..1", Assert.Throws<ArgumentException>(() => policy.Validate([8, 8], topK: 3)).Message);
        Assert.Null(policy.ForLayer(1));
    }
}
