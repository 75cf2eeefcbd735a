using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>The dense SwiGLU feed-forward block: down(silu(gate x) ⊙ up x).</summary>
internal sealed class DenseFeedForward : FeedForward
{
    public DenseFeedForward(Tensor gate, Tensor up, Tensor down) : base(nameof(DenseFeedForward))
    {
        Gate = new Projection(gate);
        Up = new Projection(up);
        Down = new Projection(down);
        register_module("gate_proj", Gate);
        register_module("up_proj", Up);
        register_module("down_proj", Down);
    }

    /// <summary>[intermediate, hidden].</summary>
    public Projection Gate { get; }

    /// <summary>[intermediate, hidden].</summary>
    public Projection Up { get; }

    /// <summary>[hidden, intermediate].</summary>
    public Projection Down { get; }

    public override long ActiveParameters => TotalParameters;

    public override long TotalParameters => Gate.Weight.numel() + Up.Weight.numel() + Down.Weight.numel();

    public override IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(int layer) =>
    [
        new(WeightNames.Gate(layer), Gate.Weight),
        new(WeightNames.Up(layer), Up.Weight),
        new(WeightNames.Down(layer), Down.Weight),
    ];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Down.forward(nn.functional.silu(Gate.forward(x)) * Up.forward(x)).MoveToOuterDisposeScope();
    }
}
