using static TorchSharp.torch;

namespace MoESdk.Serving;

/// <summary>The devices a model can be served on, by the names options use.</summary>
internal static class TorchDevices
{
    /// <summary>"cpu". "cuda" / "cuda:N" are recognized and refused with the reason (see remarks).</summary>
    /// <remarks>
    /// The engine loads models into CPU memory and its decode kernels are CPU code. Its TorchSharp forward pass
    /// makes every tensor on the weights' device, but it has not been run on a GPU, so CUDA is refused here, at
    /// start-up, rather than at a first request. Where TorchSharp finds no CUDA runtime the message says which
    /// package brings one.
    /// </remarks>
    /// <exception cref="ArgumentException">The name is unknown, or CUDA is asked for; the message says what to do.</exception>
    public static Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            return CPU;
        }
        if (name.Equals("cuda", StringComparison.OrdinalIgnoreCase) || name.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase))
        {
            if (!cuda.is_available())
            {
                throw new ArgumentException(
                    $"Device '{name}' is not available: TorchSharp finds no CUDA runtime. Reference a CUDA TorchSharp package " +
                    "(TorchSharp-cuda-linux or TorchSharp-cuda-windows) instead of TorchSharp-cpu and run on a machine with an NVIDIA GPU, or use \"cpu\".");
            }
            throw new ArgumentException(
                $"Device '{name}': this version of the engine serves on the CPU only (models load into CPU memory and " +
                "serving on a GPU is not verified yet); use \"cpu\".");
        }
        throw new ArgumentException($"Unknown device '{name}': use \"cpu\" or \"cuda\" (\"cuda:N\" for the N-th GPU).");
    }
}
