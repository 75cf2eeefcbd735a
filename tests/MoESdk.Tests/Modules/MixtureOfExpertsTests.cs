using MoESdk.Conversion;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Modules;

[Trait("Category", "Unit")]
public class MixtureOfExpertsTests
{
    private static DenseFeedForward RandomDense(int hidden, int width, int seed)
    {
        var g = new Generator((ulong)seed);
        return new DenseFeedForward(randn([width, hidden], generator: g) * 0.1, randn([width, hidden], generator: g) * 0.1, randn([hidden, width], generator: g) * 0.1);
    }

    [Theory]
    [InlineData(ExpertOutputRule.FixedScale)]
    [InlineData(ExpertOutputRule.RouterWeighted)]
    public void ContiguousExpertsWithAllSelectedEqualTheDenseFfn(ExpertOutputRule rule)
    {
        using var scope = NewDisposeScope();
        using var dense = RandomDense(48, 128, 1);
        int experts = 8;
        using var moe = ExpertSlicer.Build(dense, ContiguousPartitioner.Split(128, experts), zeros(experts, 48), experts, rule);
        Tensor x = randn(3, 5, 48);
        using var noGrad = no_grad();
        Tensor expected = dense.forward(x);
        // k = N: FixedScale multiplies by N/N = 1; RouterWeighted with zero logits weighs each expert 1/N.
        Tensor actual = moe.forward(x) * (rule == ExpertOutputRule.RouterWeighted ? experts : 1);
        Assert.True((expected - actual).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void EachTokenRunsOnlyItsTopKExperts()
    {
        using var scope = NewDisposeScope();
        using var dense = RandomDense(16, 64, 2);
        var partition = ContiguousPartitioner.Split(64, 4);
        Tensor router = randn(4, 16);
        using var moe = ExpertSlicer.Build(dense, partition, router, 2, ExpertOutputRule.FixedScale);
        Tensor x = randn(10, 16);
        using var noGrad = no_grad();
        Tensor actual = moe.forward(x);

        // Reference: per token, (N/k) · Σ over its two highest-scoring experts, computed one by one.
        Tensor logits = x.matmul(moe.Router.Weight.t());
        for (int t = 0; t < 10; t++)
        {
            long[] chosen = logits[t].topk(2).indexes.data<long>().ToArray();
            Tensor expected = zeros(16);
            foreach (long e in chosen)
            {
                expected += moe.Experts[(int)e].forward(x[t]) * 2f;
            }
            Assert.True((expected - actual[t]).abs().max().item<float>() < 1e-5f, $"token {t}");
        }
        long expert = 3 * 16 * 16, routerParameters = 4 * 16;
        Assert.Equal(2 * expert + routerParameters, moe.ActiveParameters);
        Assert.Equal(4 * expert + routerParameters, moe.TotalParameters);
    }

    [Fact]
    public void RouterGetsAGradientUnderTheFixedScaleRule()
    {
        using var scope = NewDisposeScope();
        using var dense = RandomDense(16, 64, 3);
        using var moe = ExpertSlicer.Build(dense, ContiguousPartitioner.Split(64, 4), randn(4, 16), 1, ExpertOutputRule.FixedScale);
        moe.forward(randn(6, 16)).pow(2).sum().backward();
        Assert.True(moe.Router.Weight.grad is { } grad && grad.abs().sum().item<float>() > 0f);
    }

    [Fact]
    public void PartitionsRejectBadShapes()
    {
        Assert.Throws<ArgumentException>(() => ContiguousPartitioner.Split(100, 8));
        Assert.Throws<ArgumentException>(() => new NeuronPartition([[0, 1], [1, 2]], []).Validate(4));
        Assert.Throws<ArgumentException>(() => new NeuronPartition([[0, 9]], []).Validate(4));
    }
}
