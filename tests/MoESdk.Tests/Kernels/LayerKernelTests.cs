using MoESdk.Inference.Kernels;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MoESdk.Tests.Kernels;

[Trait("Category", "Unit")]
public sealed class LayerKernelTests : IDisposable
{
    private readonly ComputePool _pool = new(2);

    public void Dispose() => _pool.Dispose();

    [Theory]
    [InlineData(64, 172)]
    [InlineData(77, 45)]
    public void SwiGluAccumulatesScaledExpertOutputs(int dim, int hidden)
    {
        using Tensor wg = randn(hidden, dim) / 8;
        using Tensor wu = randn(hidden, dim) / 8;
        using Tensor wd = randn(dim, hidden) / 8;
        using Tensor x = randn(dim);
        using Tensor y0 = randn(dim);
        using Tensor h = F.silu(mv(wg, x)) * mv(wu, x);
        using Tensor expected = y0 + (0.4f * mv(wd, h));
        var weights = new SwiGluWeights(TensorMemory.Matrix(wg), TensorMemory.Matrix(wu), TensorMemory.Matrix(wd));
        float[] y = y0.data<float>().ToArray();
        float[] scratch = new float[hidden];

        SwiGluFeedForward.Accumulate(_pool, weights, TensorMemory.Span(x), scratch, 0.4f, y);

        KernelAssert.Close(h.data<float>().ToArray(), scratch);
        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public void ExpertSlicesAddUpToTheDenseFeedForward()
    {
        const int dim = 48, hidden = 96, experts = 4, width = hidden / experts;
        using Tensor wg = randn(hidden, dim) / 8;
        using Tensor wu = randn(hidden, dim) / 8;
        using Tensor wd = randn(dim, hidden) / 8;
        using Tensor x = randn(dim);
        var dense = new SwiGluWeights(TensorMemory.Matrix(wg), TensorMemory.Matrix(wu), TensorMemory.Matrix(wd));
        float[] expected = new float[dim];
        SwiGluFeedForward.Accumulate(_pool, dense, TensorMemory.Span(x), new float[hidden], 1f, expected);

        float[] y = new float[dim];
        float[] scratch = new float[width];
        for (int e = 0; e < experts; e++)
        {
            // Each expert owns contiguous weights, as an MoE artifact stores them.
            using Tensor down = wd[.., (e * width)..((e + 1) * width)].contiguous();
            var expert = new SwiGluWeights(
                TensorMemory.Matrix(wg).Slice(e * width, width), TensorMemory.Matrix(wu).Slice(e * width, width),
                TensorMemory.Matrix(down));
            SwiGluFeedForward.Accumulate(_pool, expert, TensorMemory.Span(x), scratch, 1f, y);
        }
        KernelAssert.Close(expected, y);
    }

    [Theory]
    [InlineData(768)]
    [InlineData(37)]
    public void RmsNormMatchesTorch(int dim)
    {
        using Tensor x = randn(dim);
        using Tensor w = rand(dim);
        using Tensor expected = x * rsqrt(x.pow(2).mean() + 1e-5f) * w;
        float[] y = new float[dim];

        RmsNorm.Apply(TensorMemory.Span(x), TensorMemory.Span(w), 1e-5f, y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public void RotaryEmbeddingRotatesHalves()
    {
        const int heads = 3, headDim = 16, positions = 9, position = 7;
        const float theta = 10000f;
        using Tensor x = randn(heads, headDim);
        // Hugging Face: x·cos + rotate_half(x)·sin with angles repeated over both halves.
        using Tensor frequencies = pow(theta, -arange(0, headDim, 2, dtype: ScalarType.Float64) / headDim);
        using Tensor angles = cat([frequencies, frequencies]) * position;
        using Tensor rotated = cat([-x[.., (headDim / 2)..], x[.., ..(headDim / 2)]], dim: 1);
        using Tensor expected = (x * angles.cos().to(ScalarType.Float32)) + (rotated * angles.sin().to(ScalarType.Float32));
        float[] cos = new float[positions * headDim / 2], sin = new float[cos.Length];
        RotaryEmbedding.FillTables(positions, headDim, theta, cos, sin);
        float[] actual = x.data<float>().ToArray();

        int half = headDim / 2;
        RotaryEmbedding.Apply(actual, headDim, cos.AsSpan(position * half, half), sin.AsSpan(position * half, half));

        KernelAssert.Close(expected.data<float>().ToArray(), actual);
    }

    [Fact]
    public void SoftmaxMatchesTorch()
    {
        using Tensor x = randn(1001) * 10;
        using Tensor expected = x.softmax(0);
        float[] actual = x.data<float>().ToArray();

        Softmax.Apply(actual);

        KernelAssert.Close(expected.data<float>().ToArray(), actual, 1e-5f);
    }

    [Theory]
    [InlineData(32000)]
    [InlineData(7)]
    public void ArgmaxMatchesTorch(int length)
    {
        using Tensor x = randn(length);
        Assert.Equal(x.argmax().item<long>(), Argmax.Of(TensorMemory.Span(x)));
        float[] tie = [1f, 3f, 0f, 3f];
        Assert.Equal(1, Argmax.Of(tie));
    }

    [Theory]
    [InlineData(4, 4, 0)]
    [InlineData(4, 4, 10)]
    [InlineData(8, 2, 10)]
    [InlineData(12, 3, 33)]
    public void AttentionMatchesTorchWithGroupedQueries(int heads, int kvHeads, int position)
    {
        const int headDim = 24, maxPositions = 40;
        using Tensor q = randn(heads, headDim);
        using Tensor keys = randn(maxPositions, kvHeads, headDim);
        using Tensor values = randn(maxPositions, kvHeads, headDim);
        // Reference: repeat each kv head for its group of query heads, then softmax(q·kᵀ/√d)·v over [0, position].
        int group = heads / kvHeads;
        using Tensor k = keys[..(position + 1)].repeat_interleave(group, dim: 1).permute(1, 0, 2);
        using Tensor v = values[..(position + 1)].repeat_interleave(group, dim: 1).permute(1, 0, 2);
        using Tensor scores = matmul(k, q.unsqueeze(2)).squeeze(2) / MathF.Sqrt(headDim);
        using Tensor expected = matmul(scores.softmax(1).unsqueeze(1), v).squeeze(1);
        float[] output = new float[heads * headDim];
        float[] scratch = new float[heads * maxPositions];

        DecodeAttention.Compute(_pool, TensorMemory.Span(q), TensorMemory.Span(keys), TensorMemory.Span(values),
            heads, kvHeads, headDim, position, scratch, output);

        KernelAssert.Close(expected.reshape(-1).data<float>().ToArray(), output);
    }
}
