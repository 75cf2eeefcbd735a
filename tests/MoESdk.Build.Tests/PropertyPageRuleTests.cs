using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MoESdk.Build.Tests;

/// <summary>
/// Visual Studio's property page rule for MoEModel items (build/MoEModel.xaml) against what the package documents and
/// accepts: every metadata of the README's MoEModel table and of the props' ItemDefinitionGroup has an editable
/// property with the same default, nothing undocumented is offered, the choices are exactly the values the
/// ConvertMoEModel task accepts, MoESdk.props registers the rule and the item type, and every element and attribute is
/// one Visual Studio can read (a type and property of the schema it deserializes the file into).
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class PropertyPageRuleTests
{
    private static readonly XNamespace Schema = "http://schemas.microsoft.com/build/2009/properties";

    private static string BuildFolder => Path.Combine(Repository.Root, "msbuild", "MoESdk.Build");

    private static string PropsPath => Path.Combine(BuildFolder, "build", "MoESdk.props");

    private static string RulePath => Path.Combine(BuildFolder, "build", "MoEModel.xaml");

    [Fact]
    public void RuleUsesOnlyTypesAndPropertiesOfThePropertyPageSchema()
    {
        Dictionary<string, HashSet<string>> schema = SchemaTypes();
        foreach (XElement element in XDocument.Load(RulePath).Root!.DescendantsAndSelf())
        {
            string name = element.Name.LocalName;
            Assert.Equal(Schema, element.Name.Namespace);
            // Property elements (<Rule.DataSource>) set a property of their parent's type.
            string[] parts = name.Split('.');
            if (parts.Length == 2)
            {
                Assert.True(schema.TryGetValue(parts[0], out HashSet<string>? owner) && owner.Contains(parts[1]), $"<{name}>: {parts[0]} has no property {parts[1]}");
                Assert.Equal(parts[0], element.Parent!.Name.LocalName);
                continue;
            }
            Assert.True(schema.TryGetValue(name, out HashSet<string>? properties), $"<{name}> is not a property page schema type");
            foreach (XAttribute attribute in element.Attributes().Where(a => !a.IsNamespaceDeclaration))
            {
                Assert.True(properties.Contains(attribute.Name.LocalName), $"<{name} {attribute.Name.LocalName}=...>: {name} has no property {attribute.Name.LocalName}");
            }
        }
    }

    [Fact]
    public void RuleOffersEveryDocumentedMetadataAndNothingElse()
    {
        var documented = new SortedSet<string>(ReadmeMetadata(), StringComparer.Ordinal);
        documented.UnionWith(PropsDefaults().Keys);

        Assert.Equal(documented, new SortedSet<string>(EditableProperties().Select(p => Name(p)), StringComparer.Ordinal));
    }

    [Fact]
    public void ReadmeTableAndPropsDefaultsNameTheSameMetadata()
    {
        // The rule is checked against both; they must agree, or one of them is out of date.
        Assert.Equal(new SortedSet<string>(ReadmeMetadata(), StringComparer.Ordinal),
                     new SortedSet<string>(PropsDefaults().Keys, StringComparer.Ordinal));
    }

    [Fact]
    public void RuleDefaultsAreThePropsDefaults()
    {
        Dictionary<string, XElement> properties = EditableProperties().ToDictionary(Name);
        foreach ((string metadata, string value) in PropsDefaults())
        {
            XElement property = properties[metadata];
            string? shown = property.Name.LocalName == "EnumProperty"
                ? property.Elements(Schema + "EnumValue").SingleOrDefault(v => (string?)v.Attribute("IsDefault") == "true")?.Attribute("Name")?.Value
                : property.Attribute("Default")?.Value;
            Assert.True((shown ?? "") == value, $"{metadata}: MoESdk.props defaults to '{value}', the property page to '{shown}'");
        }
    }

    [Fact]
    public void MethodChoicesAreTheMethodsTheTaskAccepts()
    {
        // The task's list is the library's MoEMethod enum, compiled in: read from the task itself.
        XElement property = EditableProperties().Single(p => Name(p) == "Method");
        Assert.Equal("EnumProperty", property.Name.LocalName);

        Assert.Equal(ConvertMoEModel.Methods, property.Elements(Schema + "EnumValue").Select(v => v.Attribute("Name")!.Value));
    }

    [Theory]
    [InlineData("Report", "ReportLevels")]
    [InlineData("DType", "StorageTypes")]
    public void EnumChoicesAreTheValuesTheTaskAccepts(string metadata, string taskField)
    {
        XElement property = EditableProperties().Single(p => Name(p) == metadata);
        Assert.Equal("EnumProperty", property.Name.LocalName);
        string[] choices = property.Elements(Schema + "EnumValue").Select(v => v.Attribute("Name")!.Value).ToArray();

        Assert.Equal(TaskAcceptedValues(taskField), choices);
    }

    [Fact]
    public void PrecisionChoicesAreTheValuesTheGeneratorAccepts()
    {
        // The generator validates Precision (MOE2005); the first choice is the empty default.
        XElement property = EditableProperties().Single(p => Name(p) == "Precision");
        string[] choices = property.Elements(Schema + "EnumValue").Select(v => v.Attribute("Name")!.Value).ToArray();

        Assert.Equal(["", .. AcceptedValues(Path.Combine(Repository.Root, "generators", "MoESdk.Generators", "Parsing", "ModelPrecision.cs"), "Names")], choices);
    }

    [Fact]
    public void RuleDescribesTheMoEModelItemType()
    {
        XElement root = XDocument.Load(RulePath).Root!;
        Assert.Equal("MoEModel", root.Element(Schema + "ItemType")?.Attribute("Name")?.Value);
        Assert.Equal("MoEModel", root.Element(Schema + "ContentType")?.Attribute("ItemType")?.Value);
        // Every data source of the rule and its properties reads and writes MoEModel items, none another item type.
        string[] itemTypes = Rule().Descendants(Schema + "DataSource").Select(d => d.Attribute("ItemType")?.Value).OfType<string>().Distinct().ToArray();
        Assert.Equal(["MoEModel"], itemTypes);
    }

    [Fact]
    public void PropsRegisterTheRuleAndTheItemType()
    {
        XElement props = XDocument.Load(PropsPath).Root!;
        XElement schema = Assert.Single(props.Descendants(), e => e.Name.LocalName == "PropertyPageSchema");
        string include = schema.Attribute("Include")!.Value;
        Assert.StartsWith("$(MSBuildThisFileDirectory)", include, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(PropsPath)!, include["$(MSBuildThisFileDirectory)".Length..])), $"{include} does not exist beside MoESdk.props");
        Assert.Equal("File;BrowseObject", schema.Elements().Single(e => e.Name.LocalName == "Context").Value);

        Assert.Contains(props.Descendants().Where(e => e.Name.LocalName == "AvailableItemName"), e => e.Attribute("Include")?.Value == "MoEModel");
    }

    private static XElement Rule() =>
        XDocument.Load(RulePath).Root!.Elements(Schema + "Rule").Single(r => r.Attribute("Name")?.Value == "MoEModel");

    /// <summary>The properties a user edits: not hidden, not read-only, not intrinsic (Identity, FullPath), not the Build Action.</summary>
    private static IEnumerable<XElement> EditableProperties() =>
        Rule().Elements().Where(e => e.Name.LocalName.EndsWith("Property", StringComparison.Ordinal)
            && (string?)e.Attribute("Visible") != "false"
            && (string?)e.Attribute("ReadOnly") != "true"
            && !Name(e).StartsWith('{'));

    private static string Name(XElement property) => property.Attribute("Name")!.Value;

    /// <summary>The metadata of the MoEModel ItemDefinitionGroup in MoESdk.props, with their defaults.</summary>
    private static Dictionary<string, string> PropsDefaults()
    {
        XElement props = XDocument.Load(PropsPath).Root!;
        XElement definition = props.Elements().Where(e => e.Name.LocalName == "ItemDefinitionGroup")
            .Elements().Single(e => e.Name.LocalName == "MoEModel");
        Dictionary<string, string> defaults = definition.Elements().ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());
        Assert.NotEmpty(defaults);
        return defaults;
    }

    /// <summary>The first column of the table under "## The `MoEModel` item" in the package README.</summary>
    private static List<string> ReadmeMetadata()
    {
        string[] lines = File.ReadAllLines(Path.Combine(BuildFolder, "README.md"));
        int section = Array.FindIndex(lines, l => l.StartsWith("## The `MoEModel` item", StringComparison.Ordinal));
        Assert.True(section >= 0, "README.md has no '## The `MoEModel` item' section");
        List<string> names = lines.Skip(section + 1)
            .SkipWhile(l => !l.StartsWith('|'))
            .TakeWhile(l => l.StartsWith('|'))
            .Select(l => TableRowName().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value)
            .ToList();
        Assert.NotEmpty(names);
        return names;
    }

    /// <summary>
    /// The values a string array of the ConvertMoEModel task holds (<c>internal static readonly string[] Methods = { ... }</c>),
    /// read from its source: the task's assembly needs MSBuild to load, and this test needs only the list.
    /// </summary>
    private static string[] TaskAcceptedValues(string field) => AcceptedValues(Path.Combine(BuildFolder, "ConvertMoEModel.cs"), field);

    /// <summary>The values of a <c>string[] field = { ... }</c> declared in a source file.</summary>
    private static string[] AcceptedValues(string file, string field)
    {
        string source = File.ReadAllText(file);
        Match declaration = Regex.Match(source, $@"\bstring\[\]\s+{Regex.Escape(field)}\s*=\s*(?:new\s*(?:string)?\s*\[\s*\]\s*)?\{{(?<values>[^}}]*)\}}");
        Assert.True(declaration.Success, $"{Path.GetFileName(file)} declares no string[] {field} = {{ ... }}: update this test to read the accepted values");
        return QuotedString().Matches(declaration.Groups["values"].Value).Select(m => m.Groups[1].Value).ToArray();
    }

    /// <summary>
    /// The types of Microsoft.Build.Framework.XamlTypes, each with the names of its properties and its base types', read
    /// from the metadata of the .NET Framework reference assembly (the only one that has them; it is never loaded).
    /// </summary>
    private static Dictionary<string, HashSet<string>> SchemaTypes()
    {
        string path = typeof(PropertyPageRuleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PropertyPageSchemaAssembly").Value!;
        using var pe = new PEReader(File.OpenRead(path));
        MetadataReader metadata = pe.GetMetadataReader();
        Dictionary<TypeDefinitionHandle, TypeDefinition> types = metadata.TypeDefinitions
            .Select(h => (Handle: h, Type: metadata.GetTypeDefinition(h)))
            .Where(t => metadata.GetString(t.Type.Namespace) == "Microsoft.Build.Framework.XamlTypes")
            .ToDictionary(t => t.Handle, t => t.Type);

        HashSet<string> PropertiesOf(TypeDefinition type)
        {
            var names = type.GetProperties().Select(p => metadata.GetString(metadata.GetPropertyDefinition(p).Name)).ToHashSet(StringComparer.Ordinal);
            if (type.BaseType.Kind == HandleKind.TypeDefinition && types.TryGetValue((TypeDefinitionHandle)type.BaseType, out TypeDefinition baseType))
            {
                names.UnionWith(PropertiesOf(baseType));
            }
            return names;
        }

        Dictionary<string, HashSet<string>> schema = types.Values.ToDictionary(t => metadata.GetString(t.Name), PropertiesOf, StringComparer.Ordinal);
        Assert.Contains("Rule", schema.Keys);
        return schema;
    }

    [GeneratedRegex(@"^\|\s*`(?<name>[A-Za-z]+)`\s*\|")]
    private static partial Regex TableRowName();

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex QuotedString();
}
