using MoESdk.Modules;

namespace MoESdk.Conversion;

/// <summary>
/// A converted model and what made it. <see cref="Model"/> shares attention and embeddings with the dense
/// model it came from, which must stay alive while it is used.
/// </summary>
public sealed record ConversionResult(LlamaModel Model, string Partition, string Router, ExpertOutputRule OutputRule,
    IReadOnlyDictionary<string, string> Parameters, long CalibrationTokens, TimeSpan Duration);
