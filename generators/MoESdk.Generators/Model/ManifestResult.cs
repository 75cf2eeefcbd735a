namespace MoESdk.Generators.Model;

/// <summary>What reading one manifest gave: a model to emit (null when the manifest is unusable) and its diagnostics.</summary>
internal sealed record ManifestResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The models of a compilation with unique generated names, and a diagnostic for each one left out.</summary>
internal sealed record ModelSet(EquatableArray<ModelSpec> Models, EquatableArray<DiagnosticInfo> Diagnostics);
