namespace MoESdk.Loading;

/// <summary>How a model is loaded.</summary>
public sealed record LoadOptions
{
    /// <summary>Loads with every check on: the defaults.</summary>
    public static LoadOptions Default { get; } = new();

    /// <summary>
    /// Skips the scan for NaN and infinite weights (it reads every weight once more: about a tenth of a second
    /// per GB of weights, see docs/RESULTS.md). Only for files whose origin you trust; a corrupt file then
    /// loads and generates garbage.
    /// </summary>
    public bool TrustWeights { get; init; }

    /// <summary>
    /// Holds the weights in bfloat16 instead of float32: tensors stored as bfloat16 are kept as read (no float32 copy,
    /// so the model takes the memory of its file), others are rounded a tensor at a time. Prefill and the TorchSharp
    /// path then compute in bfloat16 and decode reads the weights in place. For running a model; converting, training
    /// and evaluation take float32 models.
    /// </summary>
    public bool HoldInBFloat16 { get; init; }

    /// <summary>The TorchSharp type the weights are held in.</summary>
    internal TorchSharp.torch.ScalarType WeightType => HoldInBFloat16 ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;
}
