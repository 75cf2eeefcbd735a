namespace MoESdk.Generators.Model;

/// <summary>
/// Everything the emitter needs to know about one model, taken from its manifest and item metadata. Plain values
/// only (no symbols, no compilation), so equal manifests give equal specs and emission is cached.
/// </summary>
/// <param name="ModelName">Registration and configuration name, e.g. <c>kjv-llama</c>.</param>
/// <param name="TypeName">Generated class name, e.g. <c>KjvLlamaMoE</c>.</param>
/// <param name="Namespace">Namespace of the generated class.</param>
/// <param name="ArtifactPath">Artifact folder relative to the application's base directory.</param>
/// <param name="NameLocation">Where the name comes from, for diagnostics about it.</param>
/// <param name="SourceSha256">Hash of the dense source model.</param>
/// <param name="Architecture">The decoder's shape.</param>
/// <param name="Method">How experts and routers were made.</param>
/// <param name="Layers">Per-layer experts and routers.</param>
/// <param name="ActiveFeedForwardRatio">Feed-forward parameters a token uses over the dense model's.</param>
/// <param name="Precision">The DecodePrecision member the registration defaults to; null: the hosting default.</param>
internal sealed record ModelSpec(
    string ModelName,
    string TypeName,
    string Namespace,
    string ArtifactPath,
    LocationInfo NameLocation,
    string SourceSha256,
    ArchitectureSpec Architecture,
    MethodSpec Method,
    EquatableArray<LayerSpec> Layers,
    double ActiveFeedForwardRatio,
    string? Precision);

/// <summary>The decoder's shape.</summary>
internal sealed record ArchitectureSpec(
    string Name,
    int HiddenSize,
    int IntermediateSize,
    int Heads,
    int KeyValueHeads,
    int VocabSize,
    int ContextLength);

/// <summary>How the experts and routers were made.</summary>
internal sealed record MethodSpec(string Name, string Partition, string Router, string OutputRule);

/// <summary>One decoder layer's experts and router.</summary>
internal sealed record LayerSpec(int Experts, int ExpertWidth, int TopK, int SharedExperts, int SharedWidth);
