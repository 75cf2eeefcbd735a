using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using MoESdk.Generators.Parsing;
using MoESdk.Testing;

namespace MoESdk.Generators.Tests;

/// <summary>
/// Every MOE diagnostic links to its row in the package README, and every code the build integration, the converter
/// and the generator can report has that row: an IDE's error list opens an explanation, never a dead anchor.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class DiagnosticHelpTests
{
    private static readonly string PackageReadme = File.ReadAllText(Path.Combine(Repository.Root, "msbuild", "MoESdk.Build", "README.md"));

    [Fact]
    public void GeneratorDiagnosticsLinkToTheirDocumentedRow()
    {
        DiagnosticDescriptor[] descriptors = typeof(DiagnosticDescriptors)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(field => (DiagnosticDescriptor)field.GetValue(null)!)
            .ToArray();

        Assert.NotEmpty(descriptors);
        Assert.All(descriptors, descriptor =>
        {
            Assert.Equal($"https://github.com/moesdk/moesdk/blob/main/msbuild/MoESdk.Build/README.md#{descriptor.Id}", descriptor.HelpLinkUri);
            Assert.Contains(descriptor.Id, DocumentedCodes());
        });
    }

    [Fact]
    public void EveryCodeTheBuildAndTheConverterReportIsDocumented()
    {
        string[] sources =
        [
            .. Directory.GetFiles(Path.Combine(Repository.Root, "msbuild", "MoESdk.Build"), "*.cs"),
            .. TargetsFiles(),
            Path.Combine(Repository.Root, "sdk", "MoESdk.Cli", "BuildErrorCodes.cs"),
        ];
        string[] reported = sources.SelectMany(file => Code().Matches(File.ReadAllText(file)).Select(match => match.Value)).Distinct().ToArray();

        Assert.Contains("MOE1001", reported);
        Assert.Contains("MOE1008", reported);
        Assert.All(reported, code => Assert.Contains(code, DocumentedCodes()));
    }

    [Fact]
    public void TheTargetsLinkTheirWarningsToThePageTheTasksUse()
    {
        string main = File.ReadAllText(Path.Combine(Repository.Root, "msbuild", "MoESdk.Build", "build", "MoESdk.targets"));
        Assert.Contains("<_MoEHelpLink>https://github.com/moesdk/moesdk/blob/main/msbuild/MoESdk.Build/README.md</_MoEHelpLink>", main);

        Match[] diagnostics = TargetsFiles().SelectMany(file => TargetsDiagnostic().Matches(File.ReadAllText(file))).ToArray();
        Assert.Contains(diagnostics, d => d.Groups["code"].Value == "MOE1009");
        Assert.All(diagnostics, d => Assert.Contains($"HelpLink=\"$(_MoEHelpLink)#{d.Groups["code"].Value}\"", d.Value));
    }

    private static IEnumerable<string> TargetsFiles() =>
        new[] { "build", "buildTransitive" }.SelectMany(folder => Directory.GetFiles(Path.Combine(Repository.Root, "msbuild", "MoESdk.Build", folder), "*.targets"));

    /// <summary>Codes with an anchor on a row of the README's tables (<c>| &lt;a id="MOE1001"&gt;&lt;/a&gt;MOE1001 | …</c>).</summary>
    private static string[] DocumentedCodes() =>
        DocumentedRow().Matches(PackageReadme).Select(match => match.Groups["code"].Value).ToArray();

    [GeneratedRegex(@"MOE\d{4}")]
    private static partial Regex Code();

    [GeneratedRegex("""^\| <a id="(?<code>MOE\d{4})"></a>\k<code>[^|]*\|[^|]+\|[^|]+\|$""", RegexOptions.Multiline)]
    private static partial Regex DocumentedRow();

    [GeneratedRegex("""<(Warning|Error) Code="(?<code>MOE\d{4})"[^>]*>""")]
    private static partial Regex TargetsDiagnostic();
}
