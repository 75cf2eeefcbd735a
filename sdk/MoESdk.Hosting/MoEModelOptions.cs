namespace MoESdk.Hosting;

/// <summary>
/// How one model is loaded and served. Bound from the configuration section <c>MoE:Models:{name}</c>, then adjusted by
/// the <c>configure</c> callback of <see cref="ServiceCollectionExtensions.AddMoEModel"/>; validated when the host starts.
/// </summary>
public sealed class MoEModelOptions
{
    /// <summary>A .moe artifact folder (made by <c>moe convert</c> or the MoEModel build item) or a dense model folder.</summary>
    public string Path { get; set; } = "";

    /// <summary>Experts run per token by default, in 1..the artifact's experts per layer; null keeps the artifact's own.</summary>
    public int? ExpertsPerToken { get; set; }

    /// <summary>
    /// The old name of <see cref="ExpertsPerToken"/>, still read so that configuration written before the rename
    /// (<c>"TopK": 2</c>) keeps working; setting both is an error.
    /// </summary>
    [Obsolete("Use ExpertsPerToken: a top-k is also the sampler's vocabulary setting.")]
    public int? TopK { get; set; }

    /// <summary>"cpu", or "cuda" when a CUDA TorchSharp package is referenced and a GPU is present.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// The precision the weight matrices are held and read in, from the file on: Float32 (default), BFloat16 (half the
    /// memory, prefill in bfloat16 too) or Int8 (blocks of 32 with a scale each: about a quarter of the memory, prefill
    /// in int8 too, perplexity within 1 % on the reference model) or Int4 (llama.cpp's q4_0 blocks: about an eighth of
    /// the memory, with a larger loss of quality, see docs/RESULTS.md).
    /// </summary>
    public Inference.DecodePrecision Precision { get; set; } = Inference.DecodePrecision.Float32;

    /// <summary>
    /// With Precision BFloat16, maps the model's bfloat16 safetensors from their file instead of copying them: starts in
    /// a fraction of a second and shares the pages between processes serving the same file, at slower decode
    /// (docs/RESULTS.md §14). The file must not change while the host runs.
    /// </summary>
    public bool MapWeights { get; set; }

    /// <summary>Generations running at once, each with its own KV cache, sampling and routing; their decode steps are batched.</summary>
    public int MaxConcurrentRequests { get; set; } = 1;

    /// <summary>
    /// Most running generations decoded together in one step (continuous batching; 8 by default, 1 turns it off): each
    /// step reads the weights once for all of them. Applies when <see cref="MaxConcurrentRequests"/> is above 1.
    /// </summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>Requests that may wait for a slot; further requests fail fast with <c>MoEQueueFullException</c>.</summary>
    public int QueueCapacity { get; set; } = 16;

    /// <summary>Load the weights and run one token when the host starts, so the first request is not slow.</summary>
    public bool WarmUp { get; set; } = true;
}
