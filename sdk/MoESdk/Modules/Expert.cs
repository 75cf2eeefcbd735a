using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// One expert: a SwiGLU block of width M cut from (or shaped like) the dense FFN, down(silu(gate x) ⊙ up x),
/// with gate/up [M, hidden] and down [hidden, M], each contiguous so decode reads only this expert's rows.
/// </summary>
internal sealed class Expert : nn.Module<Tensor, Tensor>
{
    public Expert(Tensor gate, Tensor up, Tensor down) : base(nameof(Expert))
    {
        if (gate.shape[0] != up.shape[0] || down.shape[1] != gate.shape[0] || gate.shape[1] != down.shape[0])
        {
            throw new ArgumentException($"Expert shapes do not fit: gate [{string.Join(",", gate.shape)}], up [{string.Join(",", up.shape)}], down [{string.Join(",", down.shape)}].");
        }
        Gate = new Projection(gate.contiguous());
        Up = new Projection(up.contiguous());
        Down = new Projection(down.contiguous());
        register_module("gate_proj", Gate);
        register_module("up_proj", Up);
        register_module("down_proj", Down);
    }

    public Projection Gate { get; }

    public Projection Up { get; }

    public Projection Down { get; }

    /// <summary>Neurons (intermediate channels) of this expert.</summary>
    public long Width => Gate.OutFeatures;

    public long Parameters => 3 * Width * Gate.InFeatures;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Down.forward(nn.functional.silu(Gate.forward(x)) * Up.forward(x)).MoveToOuterDisposeScope();
    }
}
