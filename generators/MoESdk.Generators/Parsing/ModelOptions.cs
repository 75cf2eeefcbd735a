namespace MoESdk.Generators.Parsing;

/// <summary>
/// What the project says about a manifest besides its content: item metadata of the AdditionalFiles item and
/// project properties, made visible to the compiler by CompilerVisibleItemMetadata/CompilerVisibleProperty.
/// </summary>
/// <param name="ModelName">Overrides the manifest's name (metadata <c>MoEModelName</c>).</param>
/// <param name="Namespace">Namespace of the generated code: metadata <c>MoENamespace</c>, else the property
/// <c>MoESdkNamespace</c>, else <c>RootNamespace</c>.</param>
/// <param name="ModelPath">Artifact path relative to the application's base directory (metadata <c>MoEModelPath</c>).</param>
/// <param name="Precision">The decode precision the registration defaults to (metadata <c>MoEPrecision</c>, from the item's <c>Precision</c>).</param>
internal sealed record ModelOptions(string? ModelName, string Namespace, string? ModelPath, string? Precision = null)
{
    /// <summary>Namespace used when the project sets none (a project without RootNamespace).</summary>
    public const string DefaultNamespace = "MoESdk.Models";
}
