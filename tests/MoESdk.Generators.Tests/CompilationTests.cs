using Microsoft.CodeAnalysis;

namespace MoESdk.Generators.Tests;

/// <summary>The generated code compiles without warnings, runs, and rejects experts the manifest does not have.</summary>
[Trait("Category", "Unit")]
public sealed class CompilationTests
{
    private const string Usage = """
        using Consumer.App;
        using Microsoft.Extensions.DependencyInjection;
        using MoESdk.Modules;

        public static class Usage
        {
            public static string Run(IServiceCollection services)
            {
                var expert = CkF8k2MoE.Experts.Layer3.Expert5;
                ExpertRoutingPolicy policy = CkF8k2MoE.CreateRoutingPolicy()
                    .Disable(CkF8k2MoE.Experts.Layer3.Expert5)
                    .Pin(CkF8k2MoE.Experts.Layer0.Expert1)
                    .WithExpertsPerToken(CkF8k2MoE.Experts.Layer4.Id, 3)
                    .Build();
                var builder = services.AddCkF8k2MoE(options => options.TopK = 1);
                return string.Join("|",
                    expert,
                    CkF8k2MoE.Experts.Layer3.Router.Experts,
                    CkF8k2MoE.Routers.Count,
                    CkF8k2MoE.Experts.Layer2.All.Count,
                    policy.IsDisabled(expert),
                    policy.IsPinned(CkF8k2MoE.Experts.Layer0.Expert1),
                    policy.ExpertsPerToken(CkF8k2MoE.Experts.Layer4.Id),
                    string.Join(",", policy.RuledLayers.Select(layer => layer.Index)),
                    builder.Name,
                    MoESdk.Hosting.ServiceCollectionExtensions.LastOptions!.Path,
                    MoESdk.Hosting.ServiceCollectionExtensions.LastOptions!.TopK);
            }

            public static string DisableTooMany()
            {
                var policy = CkF8k2MoE.CreateRoutingPolicy();
                foreach (var expert in CkF8k2MoE.Experts.Layer1.All.Skip(1))
                {
                    policy.Disable(expert);
                }

                try
                {
                    policy.Build();
                    return "built";
                }
                catch (System.ArgumentException e)
                {
                    return e.Message;
                }
            }
        }
        """;

    [Fact]
    public void GeneratedCodeCompilesWithoutWarningsAndWorks()
    {
        var compilation = GeneratorHarness.Compilation([GeneratorHarness.HostingContract, "global using System.Linq;", Usage]);
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]), compilation);

        Assert.Empty(result.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var usage = GeneratorHarness.Load(output).GetType("Usage")!;
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();

        var facts = ((string)usage.GetMethod("Run")!.Invoke(null, [services])!).Split('|');

        Assert.Equal(["layer 3, expert 5", "8", "5", "8", "True", "True", "3", "0,3,4", "ck-f8k2",
            Path.Combine(AppContext.BaseDirectory, "ck-f8k2.moe"), "1"], facts);
        // The runtime's own validation and exception type, not a copy in the generated code.
        Assert.Equal("The routing policy leaves 1 enabled experts in layer 1 but it routes to 2: enable more experts or lower its top-k.",
            usage.GetMethod("DisableTooMany")!.Invoke(null, null));
    }

    /// <summary>Two models in one compilation share the runtime's identities, so code over them is written once.</summary>
    private const string TwoModels = """
        using System.Collections.Generic;
        using System.Linq;
        using Consumer.App;
        using MoESdk.Runtime;

        public static class TwoModels
        {
            public static int RoutedExperts(IReadOnlyList<RouterDescriptor> routers) => routers.Sum(router => router.Experts);

            public static ExpertId Last(IReadOnlyList<RouterDescriptor> routers) => routers[^1].ExpertIds[^1];

            public static string Run() => string.Join("|",
                RoutedExperts(CkF8k2MoE.Routers), RoutedExperts(MixedLayersMoE.Routers),
                Last(CkF8k2MoE.Routers), Last(MixedLayersMoE.Routers),
                CkF8k2MoE.Experts.Layer1.Expert1 == MixedLayersMoE.Experts.Layer1.Expert1,
                MixedLayersMoE.Experts.Layer0.Router.ExpertsPerToken, MixedLayersMoE.Experts.Layer0.Router.SharedExperts);
        }
        """;

    [Fact]
    public void ModelsShareTheRuntimesLayerAndExpertTypes()
    {
        var (_, result, output) = GeneratorHarness.Run(
            GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json"), GeneratorHarness.Manifest("mixed.moe/moe.json")]),
            GeneratorHarness.Compilation([TwoModels]));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var facts = GeneratorHarness.Load(output).GetType("TwoModels")!.GetMethod("Run")!.Invoke(null, null);

        Assert.Equal("40|6|layer 4, expert 7|layer 1, expert 1|True|1|1", facts);
    }

    [Fact]
    public void ConstantsAreTheManifestsFacts()
    {
        var probe = """
            public static class Probe
            {
                public const string Facts = Consumer.App.CkF8k2MoE.ModelName + "|" + Consumer.App.CkF8k2MoE.Method + "|" + Consumer.App.CkF8k2MoE.SourceSha256;
                public static readonly int[] Sizes = { Consumer.App.CkF8k2MoE.Layers, Consumer.App.CkF8k2MoE.ExpertsPerLayer, Consumer.App.CkF8k2MoE.ExpertsPerToken,
                    Consumer.App.CkF8k2MoE.HiddenSize, Consumer.App.CkF8k2MoE.IntermediateSize, Consumer.App.CkF8k2MoE.ExpertWidth };
                public const double Ratio = Consumer.App.CkF8k2MoE.ActiveFeedForwardRatio;
            }
            """;
        var (_, _, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]),
            GeneratorHarness.Compilation([probe]));
        var type = GeneratorHarness.Load(output).GetType("Probe")!;

        Assert.Equal("ck-f8k2|factor|f6c19f968d54b4956a8018cb5101a3f28ea8bd37a837bdcbe1e13487423e9f1a", type.GetField("Facts")!.GetValue(null));
        Assert.Equal([5, 8, 2, 256, 768, 96], (int[])type.GetField("Sizes")!.GetValue(null)!);
        Assert.Equal(0.2534722222222222, (double)type.GetField("Ratio")!.GetValue(null)!);
    }

    [Theory]
    [InlineData("CkF8k2MoE.Experts.Layer3.Expert9", "'CkF8k2MoE.Experts.Layer3' does not contain a definition for 'Expert9'")]
    [InlineData("CkF8k2MoE.Experts.Layer5.Expert0", "'CkF8k2MoE.Experts' does not contain a definition for 'Layer5'")]
    public void AnExpertTheManifestDoesNotHaveIsACompileError(string expression, string message)
    {
        var source = $$"""
            using Consumer.App;
            public static class Typo { public static object Expert => {{expression}}; }
            """;
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]),
            GeneratorHarness.Compilation([source]));

        Assert.Empty(result.Diagnostics);
        var error = Assert.Single(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("CS0117", error.Id);
        Assert.Contains(message, error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ModelWithoutHostingReferenceGetsNoRegistration()
    {
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]),
            GeneratorHarness.Compilation(["class Program { }"]));

        Assert.Equal("Consumer.App.CkF8k2MoE.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }
}
