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
    /// Generations running at once. 1 by default: a request's experts-per-token is state of the shared model, so
    /// requests that change it need the model to themselves (with more than 1, they are refused).
    /// </summary>
    public int MaxConcurrentRequests { get; init; } = 1;

    /// <summary>Requests that may wait for a slot; one more is refused with <see cref="MoEQueueFullException"/>.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Torch device: "cpu", or "cuda" with a CUDA TorchSharp package referenced.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Creates the "MoESdk" meter (dependency injection passes the host's); null creates a plain one.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}
