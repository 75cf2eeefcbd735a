using System.Runtime.CompilerServices;

namespace MoESdk.Generators.Tests;

/// <summary>
/// The generated source, compared with the files in Baselines/. After an intended change of the output, update
/// them with <c>MOESDK_UPDATE_BASELINES=1 dotnet test tests/MoESdk.Generators.Tests</c> and review the diff.
/// </summary>
[Trait("Category", "Unit")]
public sealed class BaselineTests
{
    [Fact]
    public void UniformModelWithHostingMatchesBaselines()
    {
        var compilation = GeneratorHarness.Compilation([GeneratorHarness.HostingContract]);
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]), compilation);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["Consumer.App.CkF8k2MoE.Hosting.g.cs", "Consumer.App.CkF8k2MoE.g.cs"],
            result.Results.Single().GeneratedSources.Select(source => source.HintName).Order(StringComparer.Ordinal));
        AssertBaseline("Consumer.App.CkF8k2MoE.g.cs", GeneratorHarness.Generated(result, "Consumer.App.CkF8k2MoE.g.cs"));
        AssertBaseline("Consumer.App.CkF8k2MoE.Hosting.g.cs", GeneratorHarness.Generated(result, "Consumer.App.CkF8k2MoE.Hosting.g.cs"));
    }

    [Fact]
    public void LayersThatDifferWithoutHostingMatchBaseline()
    {
        var compilation = GeneratorHarness.Compilation(["class Program { }"]);
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("mixed.moe/moe.json")]), compilation);

        Assert.Empty(result.Diagnostics);
        var source = Assert.Single(result.Results.Single().GeneratedSources);
        Assert.Equal("Consumer.App.MixedLayersMoE.g.cs", source.HintName);
        AssertBaseline(source.HintName, source.SourceText.ToString());
    }

    private static void AssertBaseline(string name, string actual, [CallerFilePath] string testFile = "")
    {
        if (Environment.GetEnvironmentVariable("MOESDK_UPDATE_BASELINES") == "1")
        {
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(testFile)!, "Baselines", name), actual);
            return;
        }

        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Baselines", name));
        Assert.Equal(expected.ReplaceLineEndings("\n"), actual);
    }
}
