using MoESdk.Conversion;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class PartitionerTests
{
    private static DenseFeedForward RandomDense(int hidden, int width, int seed)
    {
        var g = new Generator((ulong)seed);
        return new DenseFeedForward(randn([width, hidden], generator: g) * 0.3, randn([width, hidden], generator: g) * 0.3, randn([hidden, width], generator: g) * 0.3);
    }

    private static void AssertEqualSizeCover(NeuronPartition partition, int width, int experts, int shared)
    {
        partition.Validate(width);
        Assert.Equal(experts, partition.Experts.Count);
        Assert.Equal(shared, partition.Shared.Count);
        int slice = width / (experts + shared);
        Assert.All(partition.Experts.Concat(partition.Shared), g => Assert.Equal(slice, g.Length));
        Assert.Equal(Enumerable.Range(0, width), partition.Experts.Concat(partition.Shared).SelectMany(g => g).Order());
    }

    public static TheoryData<string, int> Partitioners => new() { { "cluster", 0 }, { "cluster", 1 }, { "coact", 0 }, { "coact", 2 } };

    private static INeuronPartitioner Create(string name) => name == "cluster" ? new BalancedClusterPartitioner(3) : new CoActivationPartitioner(3);

    [Theory]
    [MemberData(nameof(Partitioners))]
    public void PartitionIsAnEqualSizeCoverOfAllNeurons(string name, int shared)
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(16, 96, 1);
        NeuronPartition partition = Create(name).Partition(dense, randn(300, 16), 6 - shared, shared);
        AssertEqualSizeCover(partition, 96, 6 - shared, shared);
    }

    [Theory]
    [MemberData(nameof(Partitioners))]
    public void AllExpertsSelectedEqualTheDenseFfn(string name, int shared)
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(16, 96, 2);
        int experts = 6 - shared;
        NeuronPartition partition = Create(name).Partition(dense, randn(300, 16), experts, shared);
        using MixtureOfExpertsFeedForward moe = ExpertSlicer.Build(dense, partition, randn(experts, 16), experts, ExpertOutputRule.FixedScale);
        using var noGrad = no_grad();
        Tensor x = randn(4, 7, 16);
        Assert.True((dense.forward(x) - moe.forward(x)).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void BalancedKMeansRecoversPlantedEqualClusters()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        Tensor centers = randn([4, 24], generator: g);
        // 4 clusters of 10 points, interleaved so that no cluster is a contiguous range.
        long[] truth = Enumerable.Range(0, 40).Select(i => (long)(i % 4)).ToArray();
        Tensor points = centers.index_select(0, tensor(truth)) + randn([40, 24], generator: g) * 0.1;
        int[][] clusters = BalancedKMeans.Cluster(points, 4, seed: 1);
        Assert.All(clusters, c => Assert.Equal(10, c.Length));
        Assert.All(clusters, c => Assert.Single(c.Select(i => truth[i]).Distinct()));
    }

    [Fact]
    public void CoActivationSharedExpertHoldsTheMostActiveNeurons()
    {
        using var scope = NewDisposeScope();
        using DenseFeedForward dense = RandomDense(16, 64, 4);
        Tensor inputs = randn(400, 16);
        NeuronPartition partition = new CoActivationPartitioner(0).Partition(dense, inputs, 3, 1);
        Tensor rate = NeuronActivity.Pattern(NeuronActivity.Of(dense, inputs), 16).mean([0]);
        float[] rates = rate.data<float>().ToArray();
        float leastShared = partition.Shared[0].Min(n => rates[n]);
        float mostRouted = partition.Experts.SelectMany(e => e).Max(n => rates[n]);
        Assert.True(leastShared >= mostRouted, $"shared neuron rate {leastShared} < routed {mostRouted}");
    }

    [Fact]
    public void CoActivationGroupsNeuronsThatFireTogether()
    {
        using var scope = NewDisposeScope();
        // Two families of neurons: each family reads one half of the input, and inputs excite one half at a
        // time, so neurons of a family fire together and never with the other family.
        int hidden = 16, width = 32;
        Tensor gate = zeros(width, hidden);
        Tensor up = zeros(width, hidden);
        var g = new Generator(9);
        for (int n = 0; n < width; n++)
        {
            int half = n % 2;
            gate[n, TensorIndex.Slice(half * 8, half * 8 + 8)] = rand([8], generator: g) + 0.5;
            up[n, TensorIndex.Slice(half * 8, half * 8 + 8)] = rand([8], generator: g) + 0.5;
        }
        using var dense = new DenseFeedForward(gate, up, randn(hidden, width, generator: g));
        Tensor inputs = rand([200, hidden], generator: g);
        Tensor halfMask = cat([ones(100, 8), zeros(100, 8)], 0);
        inputs = inputs * cat([halfMask, 1 - halfMask], 1);
        NeuronPartition partition = new CoActivationPartitioner(1).Partition(dense, inputs, 2, 0);
        Assert.All(partition.Experts, e => Assert.Single(e.Select(n => n % 2).Distinct()));
    }
}
