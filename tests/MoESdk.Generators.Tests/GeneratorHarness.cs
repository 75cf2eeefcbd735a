using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MoESdk.Generators.Tests;

/// <summary>
/// Runs the generator the way the compiler does: a C# compilation, moe.json files as AdditionalFiles and the
/// MSBuild metadata as analyzer config options, with step tracking on.
/// </summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>
    /// A compile-only shim of the MoESdk.Hosting contract (AddMoEModel, MoEModelOptions, IMoEModelBuilder), so the
    /// generated registration compiles without the hosting assembly. It records the options the registration
    /// produced, so tests can see what the generated code passed.
    /// </summary>
    public const string HostingContract = """
        namespace MoESdk.Hosting
        {
            using Microsoft.Extensions.DependencyInjection;

            public sealed class MoEModelOptions
            {
                public string Path { get; set; } = "";
                public int? TopK { get; set; }
                public string Device { get; set; } = "cpu";
            }

            public interface IMoEModelBuilder
            {
                string Name { get; }
                IServiceCollection Services { get; }
            }

            public static class ServiceCollectionExtensions
            {
                public static MoEModelOptions? LastOptions { get; private set; }

                public static IMoEModelBuilder AddMoEModel(this IServiceCollection services, string name, System.Action<MoEModelOptions>? configure = null)
                {
                    var options = new MoEModelOptions();
                    configure?.Invoke(options);
                    LastOptions = options;
                    return new Builder(name, services);
                }

                private sealed record Builder(string Name, IServiceCollection Services) : IMoEModelBuilder;
            }
        }
        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> FrameworkReferences = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => !Path.GetFileName(path).StartsWith("MoESdk.", StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray()
            // The runtime is always there in a consumer: the generator ships in the MoESdk package beside it.
            .Add(MetadataReference.CreateFromFile(typeof(MoESdk.Runtime.LayerId).Assembly.Location)));

    public static string DataPath(string relative) => Path.Combine(AppContext.BaseDirectory, "data", relative);

    public static ManifestFile Manifest(string relative, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(DataPath(relative), File.ReadAllText(DataPath(relative)), metadata ?? new Dictionary<string, string>());

    public static CSharpCompilation Compilation(IEnumerable<string> sources, IEnumerable<MetadataReference>? extraReferences = null) =>
        CSharpCompilation.Create(
            "Consumer.App",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Source{i}.cs")),
            FrameworkReferences.Value.AddRange(extraReferences ?? []),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(IEnumerable<ManifestFile> manifests, string rootNamespace = "Consumer.App") =>
        CSharpGeneratorDriver.Create(
            [new MoEModelGenerator().AsSourceGenerator()],
            manifests.Select(m => m.AdditionalText),
            ParseOptions,
            new OptionsProvider(manifests, new Dictionary<string, string> { ["build_property.RootNamespace"] = rootNamespace }),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator and returns the result and the compilation with the generated sources added.</summary>
    public static (GeneratorDriver Driver, GeneratorDriverRunResult Result, Compilation Output) Run(
        GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver, driver.GetRunResult(), output);
    }

    public static string Generated(GeneratorDriverRunResult result, string hintName) =>
        result.Results.Single().GeneratedSources.Single(source => source.HintName == hintName).SourceText.ToString();

    /// <summary>Emits the compilation and loads it into a collectible context; fails with the compiler's errors.</summary>
    public static Assembly Load(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        stream.Position = 0;
        return new AssemblyLoadContext(compilation.AssemblyName, isCollectible: true).LoadFromStream(stream);
    }

    /// <summary>A moe.json with the item metadata MSBuild would attach to its AdditionalFiles item.</summary>
    public sealed record ManifestFile(string Path, string Text, IReadOnlyDictionary<string, string> Metadata)
    {
        public AdditionalText AdditionalText { get; } = new InMemoryAdditionalText(Path, Text);
    }

    private sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
    {
        private readonly SourceText source = SourceText.From(text);

        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => source;
    }

    private sealed class OptionsProvider(IEnumerable<ManifestFile> manifests, IReadOnlyDictionary<string, string> global)
        : AnalyzerConfigOptionsProvider
    {
        private readonly Dictionary<string, ManifestFile> byPath = manifests.ToDictionary(m => m.Path);

        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(global);

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Options(new Dictionary<string, string>());

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) =>
            new Options(byPath.TryGetValue(textFile.Path, out var manifest)
                ? manifest.Metadata.ToDictionary(pair => "build_metadata.AdditionalFiles." + pair.Key, pair => pair.Value)
                : new Dictionary<string, string>());
    }

    private sealed class Options(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) =>
            values.TryGetValue(key, out value);
    }
}
