using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

namespace MoESdk.Tests.Kernels;

[Trait("Category", "Unit")]
public sealed class MatVecTests : IDisposable
{
    private readonly ComputePool _pool = new(3);

    public void Dispose() => _pool.Dispose();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 13)]
    [InlineData(33, 100)]
    [InlineData(130, 768)]
    [InlineData(771, 2048)]
    [InlineData(2050, 47)]
    public void MatchesTorchMv(int rows, int cols)
    {
        using Tensor w = randn(rows, cols);
        using Tensor x = randn(cols);
        using Tensor expected = mv(w, x);
        float[] y = new float[rows];

        MatVec.Multiply(_pool, TensorMemory.Matrix(w), TensorMemory.Span(x), y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public void MultiplyAddScalesAndAccumulates()
    {
        using Tensor w = randn(37, 61);
        using Tensor x = randn(61);
        using Tensor y0 = randn(37);
        using Tensor expected = y0 + (0.75f * mv(w, x));
        float[] y = y0.data<float>().ToArray();

        MatVec.MultiplyAdd(_pool, TensorMemory.Matrix(w), TensorMemory.Span(x), 0.75f, y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public void SharedInputMatchesSeparateProducts()
    {
        const int cols = 96;
        using Tensor wq = randn(96, cols);
        using Tensor wk = randn(23, cols);
        using Tensor wv = randn(25, cols);
        using Tensor x = randn(cols);
        float[] q = new float[96], k = new float[23], v = new float[25];

        MatVec.Multiply(_pool, TensorMemory.Span(x),
            TensorMemory.Matrix(wq), q, TensorMemory.Matrix(wk), k, TensorMemory.Matrix(wv), v);

        KernelAssert.Close(mv(wq, x).data<float>().ToArray(), q);
        KernelAssert.Close(mv(wk, x).data<float>().ToArray(), k);
        KernelAssert.Close(mv(wv, x).data<float>().ToArray(), v);

        float[] gate = new float[23], up = new float[25];
        MatVec.Multiply(_pool, TensorMemory.Span(x), TensorMemory.Matrix(wk), gate, TensorMemory.Matrix(wv), up);
        KernelAssert.Close(k, gate);
        KernelAssert.Close(v, up);
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(130, 768)]
    [InlineData(67, 83)]
    public void BFloat16MatchesTorchOnRoundedWeights(int rows, int cols)
    {
        using Tensor w = randn(rows, cols);
        using Tensor x = randn(cols);
        // Torch's own float32 → bfloat16 conversion also rounds to nearest even, so the weights agree exactly.
        using Tensor rounded = w.to(ScalarType.BFloat16).to(ScalarType.Float32);
        using Tensor expected = mv(rounded, x);
        using BFloat16Weights weights = BFloat16Weights.FromTensor(w);
        float[] y = new float[rows];

        MatVec.Multiply(_pool, weights.Matrix, TensorMemory.Span(x), y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Theory]
    [InlineData(7, 64)]
    [InlineData(130, 768)]
    [InlineData(771, 2048)]
    public void Int8MatchesTorchOnDequantizedWeights(int rows, int cols)
    {
        using Tensor w = randn(rows, cols);
        using Tensor x = randn(cols);
        using Int8Weights weights = Int8Weights.FromMatrix(TensorMemory.Matrix(w));
        using Tensor dequantized = Dequantize(w);
        using Tensor expected = mv(dequantized, x);
        float[] y = new float[rows];

        MatVec.Multiply(_pool, weights.Matrix, TensorMemory.Span(x), y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public void Int8BlocksKeepEveryWeightWithinHalfAStep()
    {
        using Tensor w = randn(16, 256) * 3;
        using Int8Weights weights = Int8Weights.FromMatrix(TensorMemory.Matrix(w));
        using Tensor dequantized = Dequantize(w);
        using Tensor blocks = w.reshape(-1, Int8Matrix.BlockSize);
        using Tensor step = blocks.abs().amax([1], keepdim: true) / 127f;
        using Tensor error = (dequantized.reshape(-1, Int8Matrix.BlockSize) - blocks).abs();

        Assert.True((error <= (step / 2) + 1e-6f).all().item<bool>());
        Assert.Throws<ArgumentException>(() => Int8Weights.FromMatrix(TensorMemory.Matrix(randn(4, 48))));
    }

    /// <summary>The float32 values the int8 kernel computes with: round(w / d) · d per block of 32, d = max |w| / 127.</summary>
    internal static Tensor Dequantize(Tensor w)
    {
        using var scope = NewDisposeScope();
        Tensor blocks = w.reshape(-1, Int8Matrix.BlockSize);
        Tensor scale = blocks.abs().amax([1], keepdim: true) / 127f;
        Tensor inverse = where(scale == 0, zeros_like(scale), 1f / scale);
        return (round(blocks * inverse) * scale).reshape(w.shape).MoveToOuterDisposeScope();
    }

    [Fact]
    public void RejectsMismatchedLengths()
    {
        using Tensor w = randn(4, 8);
        Assert.Throws<ArgumentException>(() => MatVec.Multiply(_pool, TensorMemory.Matrix(w), new float[7], new float[4]));
        Assert.Throws<ArgumentException>(() => MatVec.Multiply(_pool, TensorMemory.Matrix(w), new float[8], new float[5]));
    }
}
