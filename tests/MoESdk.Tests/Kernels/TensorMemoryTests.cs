using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

namespace MoESdk.Tests.Kernels;

[Trait("Category", "Unit")]
public unsafe class TensorMemoryTests
{
    [Fact]
    public void WritesThroughThePointerAreSeenByTorch()
    {
        using Tensor tensor = zeros(3, 5);
        float* data = TensorMemory.Pointer(tensor);
        data[7] = 42f;
        Assert.Equal(42f, tensor[1, 2].item<float>());

        TensorMemory.Span(tensor)[14] = -1f;
        Assert.Equal(-1f, tensor[2, 4].item<float>());
    }

    [Fact]
    public void MatrixViewReadsTheTensorInPlace()
    {
        using Tensor tensor = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        FloatMatrix matrix = TensorMemory.Matrix(tensor);
        Assert.Equal((3, 4), (matrix.Rows, matrix.Cols));
        tensor[2, 1] = tensor[2, 1] * 10;
        Assert.Equal(90f, matrix.Data[9]);
        Assert.Equal(8f, matrix.Slice(2, 1).Data[0]);
    }

    [Fact]
    public void RejectsTensorsTheKernelsCannotRead()
    {
        using Tensor transposed = zeros(3, 4).t();
        using Tensor doubles = zeros(3, dtype: ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => TensorMemory.Matrix(transposed));
        Assert.Throws<ArgumentException>(() => TensorMemory.Span(doubles).Length);
    }
}
