using static TorchSharp.torch;

namespace MoESdk.Serving;

/// <summary>The devices a model can be served on, by the names options use.</summary>
public static class TorchDevices
{
    /// <summary>"cpu", or "cuda" / "cuda:N" when TorchSharp finds a CUDA runtime.</summary>
    /// <exception cref="ArgumentException">The name is unknown, or CUDA is asked for and not available; the message says what to do.</exception>
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
            return new Device(name.ToLowerInvariant());
        }
        throw new ArgumentException($"Unknown device '{name}': use \"cpu\" or \"cuda\" (\"cuda:N\" for the N-th GPU).");
    }
}
