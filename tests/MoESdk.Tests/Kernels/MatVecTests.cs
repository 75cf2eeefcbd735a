using MoESdk.Inference;
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

    /// <summary>
    /// The float32 values the int4 kernel computes with, in torch, per llama.cpp's q4_0 rule: per block of 32 the value
    /// m of largest magnitude gives d = m / −8; q = min(15, trunc(w / d + 8.5)); w ≈ (q − 8) · d with d in half precision.
    /// </summary>
    internal static Tensor DequantizeInt4(Tensor w)
    {
        using var scope = NewDisposeScope();
        Tensor blocks = w.reshape(-1, Int8Matrix.BlockSize);
        Tensor largest = blocks.gather(1, blocks.abs().argmax(1, keepdim: true));
        Tensor scale = largest / -8f;
        Tensor inverse = where(scale == 0, zeros_like(scale), 1f / scale);
        Tensor q = ((blocks * inverse) + 8.5f).trunc().clamp_max(15);
        Tensor stored = scale.to(ScalarType.Float16).to(ScalarType.Float32);
        return ((q - 8) * stored).reshape(w.shape).MoveToOuterDisposeScope();
    }

    [Theory]
    [InlineData(DecodePrecision.Int8, 7, 64)]
    [InlineData(DecodePrecision.Int8, 130, 768)]
    [InlineData(DecodePrecision.Int8, 771, 2048)]
    [InlineData(DecodePrecision.Int4, 7, 64)]
    [InlineData(DecodePrecision.Int4, 130, 768)]
    [InlineData(DecodePrecision.Int4, 771, 2048)]
    public void BlockMatricesMatchTorchOnDequantizedWeights(DecodePrecision precision, int rows, int cols)
    {
        using Tensor w = randn(rows, cols);
        using Tensor x = randn(cols);
        using BlockWeights weights = precision == DecodePrecision.Int4
            ? Int4Weights.FromMatrix(TensorMemory.Matrix(w))
            : Int8Weights.FromMatrix(TensorMemory.Matrix(w));
        using Tensor dequantized = precision == DecodePrecision.Int4 ? DequantizeInt4(w) : Dequantize(w);
        using Tensor expected = mv(dequantized, x);
        float[] y = new float[rows];

        MatVec.Multiply(_pool, weights.View, TensorMemory.Span(x), y);

        KernelAssert.Close(expected.data<float>().ToArray(), y);
    }

    [Fact]
    public unsafe void Int4BlocksPackAsLlamaCppsQ4_0()
    {
        // One block by hand: the largest magnitude, −4, gives d = −4 / −8 = 0.5 and maps to 0 (trunc(−8 + 8.5)); its
        // opposite 4 to 15 (clamped from 16); 0 to 8. Value j sits in the low four bits of byte j, value j + 16 in the high four.
        float[] block = new float[32];
        block[0] = -4f;
        block[1] = 4f;
        block[2] = 1.2f;    // 2.4 + 8.5 → 10
        block[16] = 0.74f;  // 1.48 + 8.5 = 9.98 → 9
        block[17] = -0.76f; // −1.52 + 8.5 = 6.98 → 6
        using Tensor w = tensor(block).reshape(1, 32);
        using Int4Weights weights = Int4Weights.FromMatrix(TensorMemory.Matrix(w));
        Int4Matrix m = weights.Matrix;

        Assert.Equal(0.5f, m.Scales[0]);
        Assert.Equal((byte)(0 | (9 << 4)), m.Values[0]);
        Assert.Equal((byte)(15 | (6 << 4)), m.Values[1]);
        Assert.Equal((byte)(10 | (8 << 4)), m.Values[2]);
        Assert.Equal((byte)(8 | (8 << 4)), m.Values[3]);
        Assert.Throws<ArgumentException>(() => Int4Weights.FromMatrix(TensorMemory.Matrix(randn(4, 48))));
    }

    [Theory]
    [InlineData(DecodePrecision.Int4, 1)]
    [InlineData(DecodePrecision.Int4, 2)]
    [InlineData(DecodePrecision.Int4, 5)]
    [InlineData(DecodePrecision.Int8, 1)]
    [InlineData(DecodePrecision.Int8, 2)]
    [InlineData(DecodePrecision.Int8, 5)]
    [InlineData(DecodePrecision.Int8, 8)]
    [InlineData(DecodePrecision.BFloat16, 2)]
    [InlineData(DecodePrecision.BFloat16, 5)]
    public unsafe void ProductsOfManyInputsEqualEachInputAloneBitForBit(DecodePrecision precision, int count)
    {
        // Several inputs share each row load (bfloat16, int8, int4), and from four on an int8 or int4 step widens each
        // block of rows once for all of them: no sum may change. 776 columns: bfloat16 reads the last 8 outside its paired blocks.
        int cols = precision == DecodePrecision.BFloat16 ? 776 : 768;
        using Tensor w = randn(130, cols), gate = randn(66, cols), up = randn(66, cols), down = randn(cols, 66);
        using var owned = new CompositeDisposable();
        WeightMatrix Held(Tensor t) => precision switch
        {
            DecodePrecision.Int8 => owned.Add(Int8Weights.FromMatrix(TensorMemory.Matrix(t))).Matrix,
            DecodePrecision.Int4 => owned.Add(Int4Weights.FromMatrix(TensorMemory.Matrix(t))).Matrix,
            _ => owned.Add(BFloat16Weights.FromTensor(t)).Matrix,
        };
        WeightMatrix matrix = Held(w), gateMatrix = Held(gate), upMatrix = Held(up);
        float[][] inputs = [.. Enumerable.Range(0, count).Select(_ => Pinned(randn(cols).data<float>().ToArray()))];
        float[][] paired = [.. inputs.Select(_ => Pinned(new float[cols]))];
        float[][] products = [.. inputs.Select(_ => Pinned(new float[130]))];
        float[][] gated = [.. inputs.Select(_ => Pinned(new float[66]))];
        float** y = stackalloc float*[count];
        float** h = stackalloc float*[count];
        RowInput* rows = stackalloc RowInput[count];
        for (int s = 0; s < count; s++)
        {
            y[s] = Address(products[s]);
            h[s] = Address(gated[s]);
            rows[s] = RowInput.For(matrix, Address(inputs[s]), Address(paired[s]));
        }

        MultiVec.Multiply(_pool, matrix, rows, y, count);
        MultiVec.Gated(_pool, new SwiGluWeights(gateMatrix, upMatrix, TensorMemory.Matrix(down)), rows, h, count);

        for (int s = 0; s < count; s++)
        {
            float[] alone = new float[130], gateAlone = new float[66], upAlone = new float[66];
            MatVec.Multiply(_pool, matrix, inputs[s], alone);
            MatVec.Multiply(_pool, gateMatrix, inputs[s], gateAlone);
            MatVec.Multiply(_pool, upMatrix, inputs[s], upAlone);
            Assert.Equal(alone, products[s]);
            Assert.Equal(gateAlone.Zip(upAlone, (g, u) => g / (1f + MathF.Exp(-g)) * u), gated[s]);
        }
    }

    private sealed class CompositeDisposable : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public T Add<T>(T owned)
            where T : IDisposable
        {
            _owned.Add(owned);
            return owned;
        }

        public void Dispose() => _owned.ForEach(o => o.Dispose());
    }

    private static float[] Pinned(float[] values)
    {
        float[] pinned = GC.AllocateUninitializedArray<float>(values.Length, pinned: true);
        values.CopyTo(pinned, 0);
        return pinned;
    }

    private static unsafe float* Address(float[] pinned) => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]);

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

    /// <summary>
    /// The float32 values the int8 kernel computes with: round(w / d) · d per block of 32, d = max |w| / 127, halves
    /// rounded away from zero (roundf, as llama.cpp's q8_0; torch's round would take them to even).
    /// </summary>
    internal static Tensor Dequantize(Tensor w)
    {
        using var scope = NewDisposeScope();
        Tensor blocks = w.reshape(-1, Int8Matrix.BlockSize);
        Tensor scale = blocks.abs().amax([1], keepdim: true) / 127f;
        Tensor inverse = where(scale == 0, zeros_like(scale), 1f / scale);
        Tensor scaled = blocks * inverse;
        return ((scaled.sign() * (scaled.abs() + 0.5f).floor()) * scale).reshape(w.shape).MoveToOuterDisposeScope();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(8)]
    public void PassesOverABlockAskForEachNextRowOnce(int passes)
    {
        // A row nobody asks for streams in late; one asked for twice costs a request in a compute-bound pass.
        int[] asked = new int[MatVec.RowBlock];
        for (int pass = 0; pass < passes; pass++)
        {
            int rows = RowDot.NextRowsFor(pass, passes);
            Assert.Equal(0, rows & ~RowDot.AllNextRows);
            for (int row = 0; row < MatVec.RowBlock; row++)
            {
                asked[row] += (rows >> row) & 1;
            }
        }
        Assert.All(asked, count => Assert.Equal(1, count));
    }

    [Fact]
    public void RejectsMismatchedLengths()
    {
        using Tensor w = randn(4, 8);
        Assert.Throws<ArgumentException>(() => MatVec.Multiply(_pool, TensorMemory.Matrix(w), new float[7], new float[4]));
        Assert.Throws<ArgumentException>(() => MatVec.Multiply(_pool, TensorMemory.Matrix(w), new float[8], new float[5]));
    }
}
