using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>
/// While alive, only the given parameters of a model take gradients: training experts, routers or masks on top
/// of a model whose embeddings, attention, norms and head must stay as they are. Disposing restores every
/// parameter's former setting (the model is used again afterwards).
/// </summary>
internal sealed class FrozenExcept : IDisposable
{
    private readonly List<(Parameter Parameter, bool RequiresGrad)> _saved;

    public FrozenExcept(nn.Module model, IEnumerable<Parameter> trainable)
    {
        _saved = model.parameters().Select(p => (p, p.requires_grad)).ToList();
        foreach ((Parameter p, _) in _saved)
        {
            p.requires_grad = false;
        }
        foreach (Parameter p in trainable)
        {
            p.requires_grad = true;
        }
    }

    public void Dispose()
    {
        foreach ((Parameter p, bool requiresGrad) in _saved)
        {
            p.requires_grad = requiresGrad;
        }
    }
}
