namespace MoESdk.Inference;

/// <summary>What computes single-token decode steps (prefill always runs on TorchSharp).</summary>
internal enum DecodeBackend
{
    /// <summary>The SDK's batch-1 kernels where the weights allow (float32 on CPU), else TorchSharp.</summary>
    Kernels,

    /// <summary>TorchSharp operators for every step: the reference the kernels are checked and measured against.</summary>
    Torch,
}
