using MoESdk.Conversion;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class ExpertScaleFitTests
{
    private static DenseFeedForward RandomDense(int seed)
    {
        var g = new Generator((ulong)seed);
        return new DenseFeedForward(randn([64, 16], generator: g) * 0.5, randn([64, 16], generator: g) * 0.5, randn([16, 64], generator: g) * 0.3);
    }

    private static double Error(MixtureOfExpertsFeedForward block, DenseFeedForward dense, Tensor x)
    {
        using var noGrad = no_grad();
        return (block.forward(x) - dense.forward(x)).pow(2).mean().item<float>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void FittedScalesBringTheBlockCloserToTheDenseFfn(int shared)
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(1);
        Tensor inputs = randn(400, 16);
        NeuronPartition partition = new BalancedClusterPartitioner(0).Partition(dense, inputs, 4 - shared, shared);
        using MixtureOfExpertsFeedForward block = ExpertSlicer.Build(dense, partition, AnalyticRouter.Fit(
            partition.Experts.Select(n => ExpertSlicer.Slice(dense, n)).ToArray(), inputs), 1, ExpertOutputRule.FixedScale);
        double before = Error(block, dense, inputs);

        double[] scales = ExpertScaleFit.Fit(block, dense, inputs);

        Assert.Equal(4 - shared, scales.Length);
        Assert.True(Error(block, dense, inputs) < before, $"{before} → {Error(block, dense, inputs)}");
        Assert.True(Error(block, dense, randn(400, 16)) < before * 1.5, "the fit must carry over to new inputs");
    }

    [Fact]
    public void AllExpertsChosenNeedNoRescaling()
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(2);
        using MixtureOfExpertsFeedForward block = ExpertSlicer.Build(dense, ContiguousPartitioner.Split(64, 4), randn(4, 16), 4, ExpertOutputRule.FixedScale);
        double[] scales = ExpertScaleFit.Fit(block, dense, randn(300, 16));
        Assert.All(scales, s => Assert.Equal(1.0, s, 3));
    }
}
