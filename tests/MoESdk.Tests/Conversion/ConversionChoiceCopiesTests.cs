using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using MoESdk.Conversion;
using MoESdk.Testing;

namespace MoESdk.Tests.Conversion;

/// <summary>
/// The conversion's choices exist once, as the enums <see cref="MoEMethod"/> and <see cref="MoERouter"/> (names and
/// descriptions) and the defaults of <see cref="ConversionOptions"/>. The CLI and the MSBuild task derive them in code;
/// the files that cannot call code (templates, READMEs, the MSBuild props and property page) are copies, held to the
/// enums here.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class ConversionChoiceCopiesTests
{
    private static readonly string[] MethodNames = ConversionChoice.All<MoEMethod>().Select(ConversionChoice.Name).ToArray();

    private static readonly ConversionOptions Defaults = new();

    public static TheoryData<string> Templates => new() { "moe-app", "moe-worker" };

    [Fact]
    public void ChoicesAreNamedByTheirMembersInLowercase()
    {
        Assert.Equal(["factor", "cluster", "coact", "tomoe"], MethodNames);
        Assert.Equal(["analytic", "par"], ConversionChoice.All<MoERouter>().Select(ConversionChoice.Name));
        Assert.True(ConversionChoice.TryParse("ToMoE", out MoEMethod tomoe));
        Assert.Equal(MoEMethod.ToMoE, tomoe);
        // Names only: Enum.Parse would also take "1" or "Factor, Cluster".
        Assert.False(ConversionChoice.TryParse("1", out MoEMethod _));
        Assert.False(ConversionChoice.TryParse("factor, cluster", out MoEMethod _));
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void TemplateOffersTheMethodsWithTheirDescriptionsAndTheLibraryDefaults(string template)
    {
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(TemplateFolder(template), "template.json")));
        JsonElement symbols = json.RootElement.GetProperty("symbols");

        JsonElement method = symbols.GetProperty("method");
        Assert.Equal(MethodNames, method.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("choice").GetString()));
        Assert.Equal(ConversionChoice.All<MoEMethod>().Select(ConversionChoice.Description),
            method.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("description").GetString()));
        Assert.Equal(ConversionChoice.Name(Defaults.Method), method.GetProperty("defaultValue").GetString());

        JsonElement perToken = symbols.GetProperty("expertsPerToken");
        Assert.Equal(Defaults.ExpertsPerToken.ToString(System.Globalization.CultureInfo.InvariantCulture), perToken.GetProperty("defaultValue").GetString());
        Assert.Equal(Defaults.Experts.ToString(System.Globalization.CultureInfo.InvariantCulture), symbols.GetProperty("experts").GetProperty("defaultValue").GetString());
        // --top-k, the old name, has no default of its own: unset, the coalesce that writes the value takes expertsPerToken.
        Assert.False(symbols.GetProperty("topK").TryGetProperty("defaultValue", out _));
        JsonElement written = symbols.GetProperty("expertsPerTokenOrTopK");
        Assert.Equal("topK", written.GetProperty("parameters").GetProperty("sourceVariableName").GetString());
        Assert.Equal("expertsPerToken", written.GetProperty("parameters").GetProperty("fallbackVariableName").GetString());
        Assert.Equal(perToken.GetProperty("defaultValue").GetString(), written.GetProperty("replaces").GetString());

        using JsonDocument host = JsonDocument.Parse(File.ReadAllText(Path.Combine(TemplateFolder(template), "dotnetcli.host.json")));
        Assert.Equal("experts-per-token", host.RootElement.GetProperty("symbolInfo").GetProperty("expertsPerToken").GetProperty("longName").GetString());
        Assert.Equal("top-k", host.RootElement.GetProperty("symbolInfo").GetProperty("topK").GetProperty("longName").GetString());
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void TemplateProjectSetsExpertsPerTokenWhereTheReplacementLooksForIt(string template)
    {
        string project = Directory.GetFiles(Path.Combine(TemplateFolder(template), ".."), "*.csproj").Single();
        string item = File.ReadAllLines(project).Single(l => l.Contains("<MoEModel ", StringComparison.Ordinal));

        // template.json replaces "2" only after ExpertsPerToken=" (onlyIf): the item must say it that way.
        Assert.Contains($"ExpertsPerToken=\"{Defaults.ExpertsPerToken}\"", item, StringComparison.Ordinal);
        Assert.Contains($"Method=\"{ConversionChoice.Name(Defaults.Method)}\"", item, StringComparison.Ordinal);
        Assert.DoesNotContain("TopK=", item, StringComparison.Ordinal);
        // ... and after "ExpertsPerToken": in appsettings.json, the serving default.
        string settings = File.ReadAllText(Path.Combine(TemplateFolder(template), "..", "appsettings.json"));
        Assert.Contains($"\"ExpertsPerToken\": {Defaults.ExpertsPerToken},", settings, StringComparison.Ordinal);
        Assert.DoesNotContain("\"TopK\"", settings, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadmeMethodTableAndConvertUsageListTheChoices()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Repository.Root, "README.md"));
        int section = Array.FindIndex(lines, l => l == "### Conversion methods");
        Assert.True(section >= 0, "README.md has no '### Conversion methods' section");
        string[] rows = lines.Skip(section + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Skip(2).ToArray();
        Assert.Equal(MethodNames, rows.Select(r => TableRowName().Match(r).Groups["name"].Value));

        string usage = lines.Single(l => l.StartsWith("| `convert ", StringComparison.Ordinal));
        Assert.Contains($"[--method {string.Join("\\|", MethodNames)}]", usage, StringComparison.Ordinal);
        Assert.Contains($"[--router {string.Join("\\|", ConversionChoice.All<MoERouter>().Select(ConversionChoice.Name))}]", usage, StringComparison.Ordinal);
        Assert.Contains("[--experts-per-token K]", usage, StringComparison.Ordinal);
    }

    [Fact]
    public void PackageReadmeDescribesEveryMethod()
    {
        string row = File.ReadAllLines(Path.Combine(BuildFolder, "README.md")).Single(l => l.StartsWith("| `Method`", StringComparison.Ordinal));
        string[] described = ConversionChoice.All<MoEMethod>().Select(m => $"`{ConversionChoice.Name(m)}` ({ConversionChoice.Description(m)})").ToArray();

        Assert.Equal(string.Join(", ", described), Regex.Match(row, $@"\|\s*`{ConversionChoice.Name(Defaults.Method)}`\s*\|\s*(?<list>.*?)\.\s*\|\s*$").Groups["list"].Value);
    }

    [Fact]
    public void PropertyPageAndPropsOfferTheMethodsAndTheLibraryDefaults()
    {
        XNamespace schema = "http://schemas.microsoft.com/build/2009/properties";
        XElement rule = XDocument.Load(Path.Combine(BuildFolder, "build", "MoEModel.xaml")).Root!.Element(schema + "Rule")!;
        XElement method = rule.Elements(schema + "EnumProperty").Single(p => (string?)p.Attribute("Name") == "Method");
        XElement[] values = method.Elements(schema + "EnumValue").ToArray();

        Assert.Equal(MethodNames, values.Select(v => v.Attribute("Name")!.Value));
        Assert.Equal(ConversionChoice.All<MoEMethod>().Select(m => $"{ConversionChoice.Name(m)} ({ConversionChoice.Description(m)})"),
            values.Select(v => v.Attribute("DisplayName")!.Value));

        XElement definition = XDocument.Load(Path.Combine(BuildFolder, "build", "MoESdk.props")).Root!
            .Descendants().Single(e => e.Name.LocalName == "ItemDefinitionGroup").Elements().Single(e => e.Name.LocalName == "MoEModel");
        Assert.Equal(ConversionChoice.Name(Defaults.Method), definition.Elements().Single(e => e.Name.LocalName == "Method").Value);
        // The counts are left to the converter, whose defaults follow the method (ConversionOptions).
        Assert.Equal("", definition.Elements().Single(e => e.Name.LocalName == "ExpertsPerToken").Value);
        Assert.Equal("", definition.Elements().Single(e => e.Name.LocalName == "Experts").Value);
        Assert.DoesNotContain(definition.Elements(), e => e.Name.LocalName == "TopK");
    }

    [Fact]
    public void TheTaskCompilesTheLibrarysListOfMethods()
    {
        XElement project = XDocument.Load(Path.Combine(BuildFolder, "MoESdk.Build.csproj")).Root!;
        string[] compiled = project.Descendants("Compile").Select(c => (string?)c.Attribute("Include")).OfType<string>().ToArray();

        Assert.Contains("../../sdk/MoESdk/Conversion/MoEMethod.cs", compiled);
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(BuildFolder, "../../sdk/MoESdk/Conversion/MoEMethod.cs"))));
    }

    private static string BuildFolder => Path.Combine(Repository.Root, "msbuild", "MoESdk.Build");

    private static string TemplateFolder(string template) =>
        Path.Combine(Repository.Root, "templates", "MoESdk.Templates", "content", template, ".template.config");

    [GeneratedRegex(@"^\|\s*`(?<name>[a-z]+)`")]
    private static partial Regex TableRowName();
}
