using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MoESdk.Generators.Tests;

/// <summary>The pipeline caches: C# edits re-run nothing after the compilation lookup; manifest edits regenerate.</summary>
[Trait("Category", "Unit")]
public sealed class IncrementalTests
{
    private static readonly string[] ManifestSteps =
        [TrackingNames.Manifests, TrackingNames.ManifestResults, TrackingNames.ModelSet, TrackingNames.Models, TrackingNames.EmitInputs];

    [Fact]
    public void EditingUnrelatedCSharpLeavesEveryStepCached()
    {
        var compilation = GeneratorHarness.Compilation([GeneratorHarness.HostingContract, "class Program { }"]);
        var (driver, _, _) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]), compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("class Program { static void Main() { } }", GeneratorHarness.ParseOptions));

        var (_, result, _) = GeneratorHarness.Run(driver, edited);

        var run = result.Results.Single();
        foreach (var step in ManifestSteps)
        {
            Assert.All(Outputs(run, step), reason => Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {reason}"));
        }

        // The compilation changed, so the hosting lookup ran again, but its bool did not.
        Assert.All(Outputs(run, TrackingNames.HostingAvailable), reason => Assert.Equal(IncrementalStepRunReason.Unchanged, reason));
        Assert.All(run.TrackedOutputSteps.SelectMany(step => step.Value).SelectMany(s => s.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void EditingTheManifestRegeneratesTheModel()
    {
        var manifest = GeneratorHarness.Manifest("ck-f8k2.moe/moe.json");
        var compilation = GeneratorHarness.Compilation(["class Program { }"]);
        var (driver, first, _) = GeneratorHarness.Run(GeneratorHarness.Driver([manifest]), compilation);
        var changed = new GeneratorHarness.ManifestFile(manifest.Path, manifest.Text.Replace("\"topK\": 2", "\"topK\": 3"), manifest.Metadata);

        var (_, result, _) = GeneratorHarness.Run(driver.ReplaceAdditionalText(manifest.AdditionalText, changed.AdditionalText), compilation);

        var run = result.Results.Single();
        Assert.Equal([IncrementalStepRunReason.Modified], Outputs(run, TrackingNames.ManifestResults));
        Assert.Equal([IncrementalStepRunReason.Modified], Outputs(run, TrackingNames.Models));
        Assert.Contains("public const int ExpertsPerToken = 3;", GeneratorHarness.Generated(result, "Consumer.App.CkF8k2MoE.g.cs"));
        Assert.Contains("public const int ExpertsPerToken = 2;", GeneratorHarness.Generated(first, "Consumer.App.CkF8k2MoE.g.cs"));
    }

    [Fact]
    public void AddingTheHostingReferenceAddsOnlyTheRegistration()
    {
        var compilation = GeneratorHarness.Compilation(["class Program { }"]);
        var (driver, first, _) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]), compilation);

        var (_, result, _) = GeneratorHarness.Run(driver, compilation.AddSyntaxTrees(
            CSharpSyntaxTree.ParseText(GeneratorHarness.HostingContract, GeneratorHarness.ParseOptions)));

        var run = result.Results.Single();
        Assert.Single(first.Results.Single().GeneratedSources);
        Assert.Equal(2, run.GeneratedSources.Length);
        Assert.All(Outputs(run, TrackingNames.Models), reason => Assert.Equal(IncrementalStepRunReason.Cached, reason));
        Assert.All(Outputs(run, TrackingNames.HostingAvailable), reason => Assert.Equal(IncrementalStepRunReason.Modified, reason));
    }

    [Fact]
    public void PipelineModelsHoldNoSymbolsOrCompilations()
    {
        var (_, result, _) = GeneratorHarness.Run(
            GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json"), GeneratorHarness.Manifest("mixed.moe/moe.json")]),
            GeneratorHarness.Compilation([GeneratorHarness.HostingContract]));
        var run = result.Results.Single();
        string[] modelSteps = [TrackingNames.ManifestResults, TrackingNames.ModelSet, TrackingNames.Models, TrackingNames.EmitInputs];

        var values = modelSteps.SelectMany(step => run.TrackedSteps[step]).SelectMany(step => step.Outputs).Select(output => output.Value).ToList();

        Assert.NotEmpty(values);
        foreach (var value in values)
        {
            AssertHoldsNoCompilerState(value.GetType(), new HashSet<Type>(), value.GetType().Name);
        }
    }

    /// <summary>Walks every field type, through generic arguments and arrays, down to the generator's own types.</summary>
    private static void AssertHoldsNoCompilerState(Type type, HashSet<Type> visited, string path)
    {
        if (!visited.Add(type))
        {
            return;
        }

        Assert.False(typeof(ISymbol).IsAssignableFrom(type), $"{path} is an ISymbol ({type})");
        Assert.False(typeof(Compilation).IsAssignableFrom(type), $"{path} is a Compilation ({type})");
        Assert.False(typeof(SemanticModel).IsAssignableFrom(type), $"{path} is a SemanticModel ({type})");
        Assert.False(typeof(SyntaxNode).IsAssignableFrom(type), $"{path} is a SyntaxNode ({type})");
        Assert.False(type == typeof(object) || type.IsInterface && !typeof(IEnumerable).IsAssignableFrom(type) && !type.IsGenericType,
            $"{path} is typed {type}, which could hold anything");

        if (type.IsArray)
        {
            AssertHoldsNoCompilerState(type.GetElementType()!, visited, path + "[]");
        }

        foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : [])
        {
            AssertHoldsNoCompilerState(argument, visited, $"{path}<{argument.Name}>");
        }

        if (type.Assembly != typeof(MoEModelGenerator).Assembly)
        {
            return;
        }

        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertHoldsNoCompilerState(field.FieldType, visited, $"{path}.{field.Name}");
        }
    }

    private static IncrementalStepRunReason[] Outputs(GeneratorRunResult run, string step) =>
        run.TrackedSteps[step].SelectMany(s => s.Outputs).Select(output => output.Reason).ToArray();
}
