#if MOESDK_HOSTING
using Microsoft.CodeAnalysis;

namespace MoESdk.Generators.Tests;

/// <summary>The generated registration against the real MoESdk.Hosting extension, not the contract shim.</summary>
public sealed class RealHostingTests
{
    private const string Usage = """
        using Microsoft.Extensions.DependencyInjection;

        public static class Usage
        {
            public static string Register(IServiceCollection services) => services.AddCkF8k2MoE(options => options.TopK = 1).Name;
        }
        """;

    [Fact]
    public void RegistrationCompilesAndRegistersTheModelByName()
    {
        MetadataReference[] hosting =
        [
            MetadataReference.CreateFromFile(typeof(MoESdk.Hosting.MoEModelOptions).Assembly.Location),
            MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, "MoESdk.dll")),
        ];
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
}
#endif
