using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

[Trait("Category", "Unit")]
public class RotaryRowOrderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConversionsAreInverses(int heads)
    {
        using var scope = NewDisposeScope();
        Tensor weight = randn(heads * 8, 5);

        Assert.True(RotaryRowOrder.InterleavedToHalves(RotaryRowOrder.HalvesToInterleaved(weight, heads), heads).IsIdenticalTo(weight));
        Assert.True(RotaryRowOrder.HalvesToInterleaved(RotaryRowOrder.InterleavedToHalves(weight, heads), heads).IsIdenticalTo(weight));
        Assert.False(RotaryRowOrder.InterleavedToHalves(weight, heads).IsIdenticalTo(weight));
    }

    [Fact]
    public void InterleavedPairsBecomeHalvesWithinEachHead()
    {
        using var scope = NewDisposeScope();
        // Two heads of width 4: interleaved rows (0,1) (2,3) | (4,5) (6,7) pair up.
        Tensor interleaved = arange(8, ScalarType.Float32).unsqueeze(1);

        float[] halves = RotaryRowOrder.InterleavedToHalves(interleaved, heads: 2).view(-1).data<float>().ToArray();

        Assert.Equal([0, 2, 1, 3, 4, 6, 5, 7], halves);
    }

    [Fact]
    public void AdjacentPairRotationEqualsRotateHalfOnReorderedRows()
    {
        using var scope = NewDisposeScope();
        const int heads = 2, headDim = 8, dim = 16;
        Tensor interleavedWeight = randn(heads * headDim, dim);
        Tensor x = randn(dim);
        Tensor angles = arange(headDim / 2, ScalarType.Float32).add(1).mul(0.3f);

        // llama2.c: rotate (q[2i], q[2i+1]) by angle i.
        Tensor q = nn.functional.linear(x, interleavedWeight).view(heads, headDim / 2, 2);
        Tensor even = q[.., .., 0], odd = q[.., .., 1];
        Tensor pairs = stack([even.mul(angles.cos()).sub(odd.mul(angles.sin())), even.mul(angles.sin()).add(odd.mul(angles.cos()))], -1);
        Tensor pairsAsHalves = pairs.transpose(1, 2).reshape(heads, headDim);

        // Hugging Face: rotate (q[i], q[i + d/2]) by angle i, on the reordered weights.
        Tensor h = nn.functional.linear(x, RotaryRowOrder.InterleavedToHalves(interleavedWeight, heads)).view(heads, 2, headDim / 2);
        Tensor first = h[.., 0], second = h[.., 1];
        Tensor halves = cat([first.mul(angles.cos()).sub(second.mul(angles.sin())), second.mul(angles.cos()).add(first.mul(angles.sin()))], -1);

        Assert.True(halves.allclose(pairsAsHalves, rtol: 1e-5, atol: 1e-6));
    }
}
