using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// A linear map y = x·Wᵀ (+ b) that takes its weight from a checkpoint instead of initializing one, so
/// loading a model allocates each weight once.
/// </summary>
internal sealed class Projection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public Projection(Tensor weight, Tensor? bias = null) : base(nameof(Projection))
    {
        _weight = OwnedParameter.From(weight);
        register_parameter("weight", _weight);
        if (bias is not null)
        {
            _bias = OwnedParameter.From(bias);
            register_parameter("bias", _bias);
        }
    }

    /// <summary>[out, in], row-major and contiguous.</summary>
    public Parameter Weight => _weight;

    public Parameter? Bias => _bias;

    public long InFeatures => _weight.shape[1];

    public long OutFeatures => _weight.shape[0];

    public override Tensor forward(Tensor x) => Loading.HeldBlocks.Linear(x, _weight, _bias);
}
