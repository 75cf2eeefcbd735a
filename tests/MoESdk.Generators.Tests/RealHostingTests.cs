#if MOESDK_HOSTING
using Microsoft.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MoESdk.Generators.Tests;

/// <summary>The generated registration against the real MoESdk.Hosting extension, not the contract shim.</summary>
public sealed class RealHostingTests
{
    private const string Usage = """
        using Microsoft.Extensions.DependencyInjection;

        public static class Usage
        {
            public static string Register(IServiceCollection services) => services.AddCkF8k2MoE(options => options.ExpertsPerToken = 1).Name;
        }
        """;

    [Fact]
    public void RegistrationCompilesAndRegistersTheModelByName()
    {
        MetadataReference[] hosting = [MetadataReference.CreateFromFile(typeof(MoESdk.Hosting.MoEModelOptions).Assembly.Location)];
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]),
            GeneratorHarness.Compilation([Usage], hosting));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(2, result.Results.Single().GeneratedSources.Length);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        var name = GeneratorHarness.Load(output).GetType("Usage")!.GetMethod("Register")!.Invoke(null, [services]);

        Assert.Equal("ck-f8k2", name);
        Assert.Contains(services, descriptor => descriptor.IsKeyedService && Equals(descriptor.ServiceKey, "ck-f8k2"));
    }

    [Theory]
    [InlineData("bf16", null, MoESdk.Inference.DecodePrecision.BFloat16)]
    [InlineData("bf16", "Int8", MoESdk.Inference.DecodePrecision.Int8)]
    [InlineData("int4", null, MoESdk.Inference.DecodePrecision.Int4)]
    public void PrecisionMetadataIsADefaultThatConfigurationOverrides(string metadata, string? configured, MoESdk.Inference.DecodePrecision expected)
    {
        const string Register = """
            using Microsoft.Extensions.DependencyInjection;

            public static class Usage
            {
                public static void Register(IServiceCollection services) => services.AddCkF8k2MoE();
            }
            """;
        MetadataReference[] hosting = [MetadataReference.CreateFromFile(typeof(MoESdk.Hosting.MoEModelOptions).Assembly.Location)];
        var manifest = GeneratorHarness.Manifest("ck-f8k2.moe/moe.json", new Dictionary<string, string> { ["MoEPrecision"] = metadata });
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([manifest]), GeneratorHarness.Compilation([Register], hosting));
        Assert.Empty(result.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));

        var services = new ServiceCollection();
        // The options are validated when read: the path must be a folder that exists.
        var settings = new Dictionary<string, string?> { ["MoE:Models:ck-f8k2:Path"] = GeneratorHarness.DataPath("ck-f8k2.moe") };
        if (configured is not null)
        {
            settings["MoE:Models:ck-f8k2:Precision"] = configured;
        }
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        GeneratorHarness.Load(output).GetType("Usage")!.GetMethod("Register")!.Invoke(null, [services]);
        using ServiceProvider provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MoESdk.Hosting.MoEModelOptions>>().Get("ck-f8k2");
        Assert.Equal(expected, options.Precision);
    }

    private const string PolicyUsage = """
        using Consumer.App;
        using MoESdk.Modules;

        public static class PolicyUsage
        {
            public static string Convert()
            {
                ExpertRoutingPolicy policy = CkF8k2MoE.CreateRoutingPolicy()
                    .Disable(CkF8k2MoE.Experts.Layer0.Expert1)
                    .Pin(CkF8k2MoE.Experts.Layer0.Expert0)
                    .WithExpertsPerToken(CkF8k2MoE.Experts.Layer2.Id, 3)
                    .Build();
                int[] experts = new int[CkF8k2MoE.Layers];
                System.Array.Fill(experts, CkF8k2MoE.ExpertsPerLayer);
                policy.Validate(experts, CkF8k2MoE.ExpertsPerToken);
                return string.Join("|", string.Join(",", policy.RuledLayers), policy.IsDisabled(CkF8k2MoE.Experts.Layer0.Expert1),
                    policy.IsPinned(CkF8k2MoE.Experts.Layer0.Expert0), policy.ExpertsPerToken(CkF8k2MoE.Experts.Layer0.Id)?.ToString() ?? "-",
                    policy.ExpertsPerToken(CkF8k2MoE.Experts.Layer2.Id));
            }
        }
        """;

    [Fact]
    public void TheTypedRoutingPolicyIsOneTheRuntimeAccepts()
    {
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Driver([GeneratorHarness.Manifest("ck-f8k2.moe/moe.json")]),
            GeneratorHarness.Compilation([PolicyUsage]));

        Assert.Empty(result.Diagnostics);
        Assert.Equal("Consumer.App.CkF8k2MoE.g.cs", Assert.Single(result.Results.Single().GeneratedSources).HintName);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var facts = GeneratorHarness.Load(output).GetType("PolicyUsage")!.GetMethod("Convert")!.Invoke(null, null);

        Assert.Equal("layer 0,layer 2|True|True|-|3", facts);
    }
}
#endif
