using System;

namespace MoESdk.Generators.Parsing;

/// <summary>
/// The MoEModel item's <c>Precision</c> metadata: the decode precision the generated registration loads the model in
/// unless configuration or code says otherwise. Spelled as <c>moe generate --dtype</c> spells it.
/// </summary>
internal static class ModelPrecision
{
    /// <summary>The values the metadata accepts.</summary>
    internal static readonly string[] Names = { "f32", "bf16", "int8", "int4" };

    // The members of MoESdk.Inference.DecodePrecision, in the order of Names.
    private static readonly string[] Members = { "Float32", "BFloat16", "Int8", "Int4" };

    /// <summary>The DecodePrecision member a metadata value names (any letter case), or null when it names none.</summary>
    public static string? Member(string value)
    {
        int index = Array.FindIndex(Names, name => string.Equals(name, value, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? null : Members[index];
    }
}
