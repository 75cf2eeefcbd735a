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
    /// Generations running at once, each with its own KV cache, sampling, routing (experts per token, routing policy)
    /// and cancellation. 1 by default. With more, their decode steps are batched (see <see cref="MaxBatchSize"/>).
    /// </summary>
    public int MaxConcurrentRequests { get; init; } = 1;

    /// <summary>
    /// Most generations decoded together in one step (continuous batching): a request prefills its prompt on its own,
    /// then joins the running decode step and leaves it when done; each step reads every weight once for all its
    /// sequences, so 8 streams cost far less than 8 times one. Running generations beyond it wait for a place in the
    /// step. Each sequence's tokens are those it gets alone. 8 by default; 1 decodes every generation on its own thread.
    /// Batching needs <see cref="MaxConcurrentRequests"/> above 1.
    /// </summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>Requests that may wait for a slot; one more is refused with <see cref="MoEQueueFullException"/>.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Torch device: "cpu", or "cuda" with a CUDA TorchSharp package referenced.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// The precision decode steps read the weight matrices in: float32 (default), bfloat16 or int8 (blocks of 32 with a
    /// scale each). Lower precision decodes faster (fewer bytes per token). A model opened by <see cref="MoEModel.Open"/>
    /// is held in this precision from the file on (no float32 copy; prefill in the same precision); for a model opened
    /// in float32 beforehand, the lower precision is a copy of the matrices, made once when the first request (or the
    /// warm-up) runs.
    /// </summary>
    public Inference.DecodePrecision Precision { get; init; } = Inference.DecodePrecision.Float32;

    /// <summary>
    /// With <see cref="Precision"/> BFloat16, maps the model's bfloat16 safetensors from their file instead of copying
    /// them (<see cref="Loading.LoadOptions.MapWeights"/>): a fast start, pages shared by every process serving the file,
    /// slower decode.
    /// </summary>
    public bool MapWeights { get; init; }

    /// <summary>Creates the "MoESdk" meter (dependency injection passes the host's); null creates a plain one.</summary>
    public IMeterFactory? MeterFactory { get; init; }
}
