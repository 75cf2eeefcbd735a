using static TorchSharp.torch;

namespace MoESdk.Tests;

[Trait("Category", "Unit")]
public class TorchLoadsTests
{
    [Fact]
    public void FirstTensorComputes()
    {
        using var sum = ones(3).sum();
        Assert.Equal(3f, sum.item<float>());
    }
}
