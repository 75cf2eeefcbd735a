using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// The SwiGLU feed-forward block, down(silu(gate x) ⊙ up x), with gate/up [width, hidden] and down [hidden, width],
/// each contiguous so decode reads only this block's rows. A dense model's layer holds one of the full intermediate
/// width; each <see cref="Expert"/> of a Mixture-of-Experts block is one of its own width.
/// </summary>
internal class DenseFeedForward : FeedForward
{
    public DenseFeedForward(Tensor gate, Tensor up, Tensor down) : this(nameof(DenseFeedForward), gate, up, down)
    {
    }

    protected DenseFeedForward(string name, Tensor gate, Tensor up, Tensor down) : base(name)
    {
        if (gate.shape[0] != up.shape[0] || down.shape[1] != gate.shape[0] || gate.shape[1] != down.shape[0])
        {
            throw new ArgumentException($"{name} shapes do not fit: gate [{string.Join(",", gate.shape)}], up [{string.Join(",", up.shape)}], down [{string.Join(",", down.shape)}].");
        }
        Gate = new Projection(HeldBlocks.Contiguous(gate));
        Up = new Projection(HeldBlocks.Contiguous(up));
        Down = new Projection(HeldBlocks.Contiguous(down));
        register_module("gate_proj", Gate);
        register_module("up_proj", Up);
        register_module("down_proj", Down);
    }

    /// <summary>[width, hidden].</summary>
    public Projection Gate { get; }

    /// <summary>[width, hidden].</summary>
    public Projection Up { get; }

    /// <summary>[hidden, width].</summary>
    public Projection Down { get; }

    /// <summary>Neurons (intermediate channels) of this block.</summary>
    public long Width => Gate.OutFeatures;

    public override long ActiveParameters => TotalParameters;

    public override long TotalParameters => 3 * Width * Gate.InFeatures;

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
