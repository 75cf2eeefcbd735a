using System.Diagnostics.Metrics;

namespace MoESdk.Serving;

/// <summary>How a <see cref="MoEModel"/> serves requests.</summary>
public sealed record MoEServingOptions
{
    /// <summary>Name used in metrics, errors and chat responses; null takes the manifest's or folder's name.</summary>
    public string? Name { get; init; }

    /// <summary>Experts run per token when a request does not say; null keeps the artifact's top-k.</summary>
    public int? ExpertsPerToken { get; init; }

    /// <summary>
    /// Generations running at once, each on its own thread with its own KV cache and routing (experts per token,
    /// routing policy). 1 by default: decode is memory-bound, so concurrent generations share the CPU.
    /// </summary>
    public int MaxConcurrentRequests { get; init; } = 1;

    /// <summary>Requests that may wait for a slot; one more is refused with <see cref="MoEQueueFullException"/>.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Torch device: "cpu", or "cuda" with a CUDA TorchSharp package referenced.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// The precision decode steps read the weight matrices in: float32 (default), bfloat16 or int8 (blocks of 32 with a
    /// scale each). Lower precision decodes faster (fewer bytes per token) and costs a copy of the matrices, made once
    /// when the first request (or the warm-up) runs.
    /// </summary>
    public Inference.DecodePrecision Precision { get; init; } = Inference.DecodePrecision.Float32;

    /// <summary>Creates the "MoESdk" meter (dependency injection passes the host's); null creates a plain one.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}
