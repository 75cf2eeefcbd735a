using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>Root-mean-square layer norm: x · rsqrt(mean(x²) + ε) · w.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;

    // Kept for the module's life: a scalar made per call can be finalized mid-call (see TorchScalars).
    private readonly Scalar _epsilon;

    public RmsNorm(Tensor weight, double epsilon) : base(nameof(RmsNorm))
    {
        _weight = OwnedParameter.From(weight);
        Epsilon = epsilon;
        _epsilon = epsilon.ToScalar();
        register_parameter("weight", _weight);
    }

    public Parameter Weight => _weight;

    public double Epsilon { get; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // x·x, not pow(2) or square(): those pass TorchSharp a per-call scalar (see TorchScalars).
        Tensor variance = x.mul(x).mean([-1], keepdim: true);
        return (x * rsqrt(variance.add(_epsilon)) * _weight).MoveToOuterDisposeScope();
    }
}
