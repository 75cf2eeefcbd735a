using MoESdk.Inference;

namespace MoESdk.Cli;

/// <summary>The names the command line gives <see cref="DecodePrecision"/>s: f32, bf16, int8, int4 (the first two are those of convert and export's --dtype).</summary>
public static class DecodePrecisionNames
{
    private static readonly Dictionary<string, DecodePrecision> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["f32"] = DecodePrecision.Float32,
        ["bf16"] = DecodePrecision.BFloat16,
        ["int8"] = DecodePrecision.Int8,
        ["int4"] = DecodePrecision.Int4,
    };

    public const string Description = "Precision the decode kernels read the weights in: f32 (as loaded), bf16, int8 (q8_0-like blocks of 32) or int4 (q4_0-like blocks of 32); prefill stays f32.";

    public static DecodePrecision Parse(string name) =>
        ByName.TryGetValue(name, out DecodePrecision precision)
            ? precision
            : throw new ArgumentException($"--dtype '{name}' is not a decode precision: use f32, bf16, int8 or int4.");

    public static string Name(DecodePrecision precision) => ByName.First(p => p.Value == precision).Key;
}
