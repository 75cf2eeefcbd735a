using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>The dtype names of the safetensors format, their sizes and their TorchSharp counterparts.</summary>
internal static class SafeTensorsDTypes
{
    // Every dtype the format defines, so a checkpoint that carries e.g. an int64 buffer still parses;
    // only the floating-point ones below can be read into tensors.
    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    /// <summary>The dtypes this SDK reads into and writes from tensors.</summary>
    public static IReadOnlyList<string> Readable { get; } = ["F32", "F16", "BF16"];

    /// <summary>Bytes per element of <paramref name="dtype"/>, or null when the format does not define it.</summary>
    public static int? ElementSize(string dtype) => Sizes.TryGetValue(dtype, out int size) ? size : null;

    /// <summary>The TorchSharp type of a readable dtype, or null for the others.</summary>
    public static ScalarType? ToScalarType(string dtype) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        _ => null,
    };

    /// <summary>The format's name for a tensor type this SDK writes, or null for the others.</summary>
    public static string? FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        _ => null,
    };
}
