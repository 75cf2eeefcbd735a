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

    private static MixtureOfExpertsFeedForward ClusteredBlock(DenseFeedForward dense, Tensor inputs, int experts, int shared, int expertsPerToken)
    {
        NeuronPartition partition = new BalancedClusterPartitioner(0).Partition(dense, inputs, experts, shared);
        return ExpertSlicer.Build(dense, partition, AnalyticRouter.Fit(partition.Experts.Select(n => ExpertSlicer.Slice(dense, n)).ToArray(), inputs),
            expertsPerToken, ExpertOutputRule.FixedScale);
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
        using MixtureOfExpertsFeedForward block = ClusteredBlock(dense, inputs, 4 - shared, shared, expertsPerToken: 1);
        double before = Error(block, dense, inputs);

        double[] scales = ExpertScaleFit.Fit(block, dense, inputs);

        Assert.Equal(4 - shared, scales.Length);
        Assert.True(Error(block, dense, inputs) < before, $"{before} → {Error(block, dense, inputs)}");
        Assert.True(Error(block, dense, randn(400, 16)) < before * 1.5, "the fit must carry over to new inputs");
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1, 37L)]
    public void ScalesSolveTheLeastSquaresProblemOverEveryTokenAndUnit(int shared, long? tokensPerPass)
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(3);
        Tensor inputs = randn(300, 16);
        using MixtureOfExpertsFeedForward block = ClusteredBlock(dense, inputs, 8 - shared, shared, expertsPerToken: 3);
        double[] expected = DesignMatrixSolution(block, dense, inputs);

        double[] scales = ExpertScaleFit.Fit(block, dense, inputs, tokensPerPass);

        Assert.Equal(expected.Length, scales.Length);
        for (int i = 0; i < scales.Length; i++)
        {
            Assert.Equal(expected[i], scales[i], 7);
        }
    }

    // The problem written out: one column per expert, its output where the router chose it over every token and unit.
    private static double[] DesignMatrixSolution(MixtureOfExpertsFeedForward block, DenseFeedForward dense, Tensor x)
    {
        using var noGrad = no_grad();
        Tensor target = dense.forward(x);
        foreach (Expert shared in block.SharedExperts)
        {
            target = target - shared.forward(x);
        }
        (Tensor indices, _) = block.Route(block.Router.forward(x));
        int n = block.Experts.Count;
        Tensor chosen = zeros(x.shape[0], n).scatter_(1, indices, ones(indices.shape));
        Tensor design = stack(block.Experts.Select((e, i) => (e.forward(x) * chosen[TensorIndex.Colon, i].unsqueeze(1)).flatten()).ToArray(), 1).to_type(ScalarType.Float64);
        Tensor gram = design.t().matmul(design);
        double lambda = 1e-3 * gram.diagonal().mean().item<double>();
        Tensor rhs = design.t().matmul(target.flatten().to_type(ScalarType.Float64)) + lambda * block.FixedScale;
        return (linalg.solve(gram + eye(n, dtype: ScalarType.Float64) * lambda, rhs) / block.FixedScale).data<double>().ToArray();
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
