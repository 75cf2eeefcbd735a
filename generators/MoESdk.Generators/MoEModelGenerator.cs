using System;
using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MoESdk.Generators.Emitting;
using MoESdk.Generators.Model;
using MoESdk.Generators.Parsing;

namespace MoESdk.Generators;

/// <summary>
/// Generates a typed model class (constants, expert identities, router descriptors, routing policy) for every
/// <c>moe.json</c> manifest passed as an AdditionalFiles item, and an <c>IServiceCollection.Add{Model}MoE()</c>
/// registration when the compilation references MoESdk.Hosting, and the routing policy's conversion to the
/// runtime's policy when it references MoESdk. It reads manifests only, never weights.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MoEModelGenerator : IIncrementalGenerator
{
    /// <summary>The manifest file name the generator picks from the AdditionalFiles.</summary>
    public const string ManifestFileName = "moe.json";

    /// <summary>A type only MoESdk.Hosting defines: its presence switches on the DI registration.</summary>
    public const string HostingMarkerType = "MoESdk.Hosting.IMoEModelBuilder";

    /// <summary>A type only the MoESdk runtime defines: its presence switches on the routing policy's conversion to it.</summary>
    public const string RuntimeMarkerType = "MoESdk.Modules.ExpertRoutingPolicy";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var manifests = context.AdditionalTextsProvider
            .Where(static file => string.Equals(Path.GetFileName(file.Path), ManifestFileName, StringComparison.OrdinalIgnoreCase))
            .Combine(context.AnalyzerConfigOptionsProvider)
            .WithTrackingName(TrackingNames.Manifests);

        var results = manifests
            .Select(static (input, cancellationToken) =>
            {
                var (file, options) = input;
                var modelOptions = ReadOptions(options.GetOptions(file), options.GlobalOptions);
                return ManifestReader.Read(file.Path, file.GetText(cancellationToken), modelOptions, cancellationToken);
            })
            .WithTrackingName(TrackingNames.ManifestResults);

        var modelSet = results
            .Where(static result => result.Model is not null)
            .Select(static (result, _) => result.Model!)
            .Collect()
            .Select(static (models, _) => ModelSetResolver.Resolve(models))
            .WithTrackingName(TrackingNames.ModelSet);

        var models = modelSet
            .SelectMany(static (set, _) => set.Models)
            .WithTrackingName(TrackingNames.Models);

        // Only a bool leaves the compilation, so a C# edit re-runs this lookup but nothing after it.
        var hostingAvailable = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName(HostingMarkerType) is not null)
            .WithTrackingName(TrackingNames.HostingAvailable);

        var runtimeAvailable = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName(RuntimeMarkerType) is not null)
            .WithTrackingName(TrackingNames.RuntimeAvailable);

        var emitInputs = models
            .Combine(hostingAvailable)
            .Combine(runtimeAvailable)
            .WithTrackingName(TrackingNames.EmitInputs);

        context.RegisterSourceOutput(results.SelectMany(static (result, _) => result.Diagnostics), static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(modelSet.SelectMany(static (set, _) => set.Diagnostics), static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(emitInputs, static (spc, input) =>
        {
            var ((model, hosting), runtime) = input;
            spc.AddSource($"{model.Namespace}.{model.TypeName}.g.cs", ModelEmitter.Emit(model));
            if (hosting)
            {
                spc.AddSource($"{model.Namespace}.{model.TypeName}.Hosting.g.cs", HostingEmitter.Emit(model));
            }

            if (runtime)
            {
                spc.AddSource($"{model.Namespace}.{model.TypeName}.Runtime.g.cs", RuntimePolicyEmitter.Emit(model));
            }
        });
    }

    private static ModelOptions ReadOptions(AnalyzerConfigOptions file, AnalyzerConfigOptions global)
    {
        var ns = Value(file, "build_metadata.AdditionalFiles.MoENamespace")
            ?? Value(global, "build_property.MoESdkNamespace")
            ?? Value(global, "build_property.RootNamespace")
            ?? ModelOptions.DefaultNamespace;
        return new ModelOptions(
            Value(file, "build_metadata.AdditionalFiles.MoEModelName"),
            ns,
            Value(file, "build_metadata.AdditionalFiles.MoEModelPath"));
    }

    private static string? Value(AnalyzerConfigOptions options, string key) =>
        options.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
