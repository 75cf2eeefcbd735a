using MoESdk.Inference;

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
    /// The precision the weights are held in. <see cref="DecodePrecision.Float32"/> (the default) for everything,
    /// converting and training included. <see cref="DecodePrecision.BFloat16"/>: tensors stored as bfloat16 are kept as
    /// read (no float32 copy, so the model takes the memory of its file), others are rounded a tensor at a time; prefill
    /// and the TorchSharp path compute in bfloat16 and decode reads the weights in place.
    /// <see cref="DecodePrecision.Int8"/>: each weight matrix whose width is a multiple of 32 is quantized as it is read
    /// (q8_0-like blocks, about a quarter of float32's bytes) and the float32 values are dropped; the embedding, norms
    /// and routers stay float32. Prefill and decode read the int8 matrices in place. <see cref="DecodePrecision.Int4"/>: the
    /// same matrices quantized as llama.cpp's q4_0 (about an eighth of float32's bytes, with more loss of quality, see
    /// docs/RESULTS.md). BFloat16, Int8 and Int4 are for running a model; converting, training, exporting and saving take
    /// float32 (or bfloat16) models.
    /// </summary>
    public DecodePrecision Precision { get; init; }

    /// <summary>
    /// With <see cref="Precision"/> BFloat16, maps the safetensors tensors stored as bfloat16 from their file
    /// (copy-on-write) instead of copying them: the model loads in a fraction of a second, takes no memory beyond the
    /// page cache's copy of the file, and processes serving the same file share it. Decode reads file-backed pages more
    /// slowly than copied ones (see docs/RESULTS.md), so this is for fast starts and many processes, not for the
    /// fastest decode. The file must not be truncated or rewritten while the model is open. Tensors not stored as
    /// bfloat16, or not aligned to two bytes in the file, are copied as usual.
    /// </summary>
    public bool MapWeights { get; init; }

    /// <summary>The TorchSharp type tensors are read in (int8 and int4 matrices are quantized from float32).</summary>
    internal TorchSharp.torch.ScalarType WeightType => Precision == DecodePrecision.BFloat16 ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;

    /// <summary>The type the tensor <paramref name="name"/> of <paramref name="shape"/> is held in under these options.</summary>
    internal TorchSharp.torch.ScalarType HeldType(string name, long[] shape) => !HoldsInBlocks(name, shape) ? WeightType
        : Precision == DecodePrecision.Int4 ? TorchSharp.torch.ScalarType.Byte
        : TorchSharp.torch.ScalarType.Int8;

    /// <summary>Whether the tensor <paramref name="name"/> of <paramref name="shape"/> is quantized into int8 or int4 blocks as it is read.</summary>
    internal bool HoldsInBlocks(string name, long[] shape) => HeldBlocks.IsBlockPrecision(Precision) && HeldBlocks.Applies(name, shape);
}
