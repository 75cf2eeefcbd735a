using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Makes a module parameter from a tensor so that the module owns it: a module may be built inside a
/// dispose scope (conversion code is), and its weights must not be freed when that scope ends.
/// </summary>
internal static class OwnedParameter
{
    public static Parameter From(Tensor tensor)
    {
        // A matrix held in int8 or int4 (Loading.HeldBlocks) is never trained, and autograd takes only floating-point tensors.
        var parameter = new Parameter(tensor.DetachFromDisposeScope(), requires_grad: tensor.is_floating_point());
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
