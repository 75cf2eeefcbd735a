using Microsoft.CodeAnalysis;

namespace MoESdk.Generators.Parsing;

/// <summary>The generator's diagnostics, MOE2xxx (MOE1xxx belong to the build tasks).</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MoESdk.Generators";

    public static readonly DiagnosticDescriptor ManifestInvalid = new(
        id: "MOE2001",
        title: "MoE manifest is unreadable or invalid",
        messageFormat: "The MoE manifest '{0}' cannot be used: {1}. Regenerate it with 'moe convert' or fix the file.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: DiagnosticHelp.LinkFor("MOE2001"));

    public static readonly DiagnosticDescriptor SchemaVersionUnsupported = new(
        id: "MOE2002",
        title: "MoE manifest schema version is not supported",
        messageFormat: "The MoE manifest '{0}' has schema version {1}, but this generator reads version {2}. Use the MoESdk version that wrote it, or convert the model again.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: DiagnosticHelp.LinkFor("MOE2002"));

    public static readonly DiagnosticDescriptor DuplicateModelName = new(
        id: "MOE2003",
        title: "Two MoE models generate the same name",
        messageFormat: "The MoE models '{0}' and '{1}' both generate the class '{2}'; '{1}' is skipped. Give one of their MoEModel items another OutputName.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: DiagnosticHelp.LinkFor("MOE2003"));

    public static readonly DiagnosticDescriptor InvalidIdentifier = new(
        id: "MOE2004",
        title: "MoE model name or namespace cannot become a C# identifier",
        messageFormat: "The {0} '{1}' cannot be turned into a C# identifier: {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: DiagnosticHelp.LinkFor("MOE2004"));

    public static readonly DiagnosticDescriptor InvalidPrecision = new(
        id: "MOE2005",
        title: "MoE model Precision is not a decode precision",
        messageFormat: "The MoEModel '{0}' has Precision '{1}': use one of {2} (the precision its Add method loads the model in; empty means f32)",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        helpLinkUri: DiagnosticHelp.LinkFor("MOE2005"));
}
