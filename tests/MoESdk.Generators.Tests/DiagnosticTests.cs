using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MoESdk.Generators.Tests;

/// <summary>MOE2xxx diagnostics: each names the problem, points at the manifest line, and suppresses only its model.</summary>
[Trait("Category", "Unit")]
public sealed class DiagnosticTests
{
    private static readonly string Valid = File.ReadAllText(GeneratorHarness.DataPath("ck-f8k2.moe/moe.json"));

    [Fact]
    public void InvalidJsonIsReportedAtItsLineAndColumn()
    {
        var text = Valid.Replace("\"layers\": 5,", "\"layers\": 5,,");

        var diagnostic = Assert.Single(Diagnose(("/app/models/broken.moe/moe.json", text)));

        Assert.Equal("MOE2001", diagnostic.Id);
        Assert.Equal("/app/models/broken.moe/moe.json", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(new LinePosition(11, 16), diagnostic.Location.GetLineSpan().StartLinePosition);
        Assert.Contains("invalid JSON at line 12, column 17: expected a property name in double quotes", Message(diagnostic));
    }

    [Fact]
    public void UnsupportedSchemaVersionPointsAtTheVersion()
    {
        var diagnostic = Assert.Single(Diagnose(("/m/moe.json", Valid.Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2"))));

        Assert.Equal("MOE2002", diagnostic.Id);
        Assert.Equal(new LinePosition(1, 19), diagnostic.Location.GetLineSpan().StartLinePosition);
        Assert.Contains("has schema version 2, but this generator reads version 1", Message(diagnostic));
    }

    [Theory]
    [InlineData("\"topK\": 2,", "\"topK\": 9,", "'layers[0].topK' is 9 but must be between 1 and the layer's 8 experts", 36)]
    [InlineData("\"hiddenSize\": 256,", "\"hiddenSize\": \"256\",", "the property 'hiddenSize' must be a number", 9)]
    [InlineData("\"layers\": 5,", "\"layers\": 4,", "'architecture.layers' is 4 but 'layers' lists 5 layers", 11)]
    [InlineData("\"name\": \"factor\",", "", "the property 'name' is missing", 17)]
    public void InvalidFieldsAreReportedWhereTheyAre(string find, string replace, string message, int line)
    {
        var text = ReplaceFirst(Valid, find, replace);

        var diagnostic = Assert.Single(Diagnose(("/m/moe.json", text)));

        Assert.Equal("MOE2001", diagnostic.Id);
        Assert.Contains(message, Message(diagnostic));
        Assert.Equal(line, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void TwoManifestsWithTheSameGeneratedNameKeepTheFirst()
    {
        var (diagnostics, sources) = Run(
            ("/a/moe.json", Valid.Replace("\"name\": \"ck-f8k2\"", "\"name\": \"kjv-llama\"")),
            ("/b/moe.json", Valid.Replace("\"name\": \"ck-f8k2\"", "\"name\": \"kjv_llama\"")));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("MOE2003", diagnostic.Id);
        Assert.Equal("/b/moe.json", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(2, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("'kjv-llama (/a/moe.json)' and 'kjv_llama (/b/moe.json)' both generate the class 'KjvLlamaMoE'", Message(diagnostic));
        Assert.Equal(["Consumer.App.KjvLlamaMoE.g.cs"], sources);
    }

    [Fact]
    public void ANameWithoutLettersOrDigitsCannotBecomeAnIdentifier()
    {
        var (diagnostics, sources) = Run(("/m/moe.json", Valid.Replace("\"name\": \"ck-f8k2\"", "\"name\": \"--\"")));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("MOE2004", diagnostic.Id);
        Assert.Equal(2, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("The model name '--' cannot be turned into a C# identifier", Message(diagnostic));
        Assert.Empty(sources);
    }

    [Fact]
    public void AnInvalidNamespaceIsReported()
    {
        var manifest = new GeneratorHarness.ManifestFile("/m/moe.json", Valid, new Dictionary<string, string> { ["MoENamespace"] = "My App.class" });
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver([manifest]), GeneratorHarness.Compilation([]));

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MOE2004", diagnostic.Id);
        Assert.Contains("The namespace 'My App.class' cannot be turned into a C# identifier", Message(diagnostic));
    }

    [Fact]
    public void AnUnknownPrecisionIsReported()
    {
        var manifest = new GeneratorHarness.ManifestFile("/m/moe.json", Valid, new Dictionary<string, string> { ["MoEPrecision"] = "fp16" });
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver([manifest]), GeneratorHarness.Compilation([]));

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MOE2005", diagnostic.Id);
        Assert.Contains("has Precision 'fp16': use one of f32, bf16, int8", Message(diagnostic));
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void MetadataSetsNameNamespaceAndPath()
    {
        var manifest = new GeneratorHarness.ManifestFile("/m/moe.json", Valid, new Dictionary<string, string>
        {
            ["MoEModelName"] = "kjv-llama",
            ["MoENamespace"] = "Bible.Models",
            ["MoEModelPath"] = "models/kjv-llama.moe",
        });

        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver([manifest]), GeneratorHarness.Compilation([]));

        var source = GeneratorHarness.Generated(result, "Bible.Models.KjvLlamaMoE.g.cs");
        Assert.Contains("namespace Bible.Models", source);
        Assert.Contains("public const string ModelName = \"kjv-llama\";", source);
        Assert.Contains("public const string ArtifactPath = \"models/kjv-llama.moe\";", source);
    }

    [Fact]
    public void OnlyFilesNamedMoeJsonAreRead()
    {
        var (diagnostics, sources) = Run(("/m/config.json", "not json"), ("/m/MOE.JSON", Valid));

        Assert.Empty(diagnostics);
        Assert.Equal(["Consumer.App.CkF8k2MoE.g.cs"], sources);
    }

    private static List<Diagnostic> Diagnose(params (string Path, string Text)[] manifests) => Run(manifests).Diagnostics;

    private static (List<Diagnostic> Diagnostics, List<string> Sources) Run(params (string Path, string Text)[] manifests)
    {
        var files = manifests.Select(m => new GeneratorHarness.ManifestFile(m.Path, m.Text, new Dictionary<string, string>()));
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver(files), GeneratorHarness.Compilation([]));
        return (result.Diagnostics.ToList(), result.Results.Single().GeneratedSources.Select(s => s.HintName).ToList());
    }

    private static string Message(Diagnostic diagnostic) => diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);

    private static string ReplaceFirst(string text, string find, string replace)
    {
        var index = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(index >= 0, find);
        return string.Concat(text.AsSpan(0, index), replace, text.AsSpan(index + find.Length));
    }
}
