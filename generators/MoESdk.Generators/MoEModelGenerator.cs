using System;
using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MoESdk.Generators.Emitting;
using MoESdk.Generators.Model;
using MoESdk.Generators.Parsing;

namespace MoESdk.Generators;

/// <summary>
/// Generates a typed model class (constants, router descriptors, typed layer and expert handles, a routing policy
/// starter, all over MoESdk's runtime types) for every <c>moe.json</c> manifest passed as an AdditionalFiles item, and
/// an <c>IServiceCollection.Add{Model}MoE()</c> registration when the compilation references MoESdk.Hosting. It reads
/// manifests only, never weights. The generator ships in the MoESdk package beside the runtime it emits against.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MoEModelGenerator : IIncrementalGenerator
{
    /// <summary>The manifest file name the generator picks from the AdditionalFiles.</summary>
    public const string ManifestFileName = "moe.json";

    /// <summary>A type only MoESdk.Hosting defines: its presence switches on the DI registration.</summary>
    public const string HostingMarkerType = "MoESdk.Hosting.IMoEModelBuilder";

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

        var emitInputs = models
            .Combine(hostingAvailable)
            .WithTrackingName(TrackingNames.EmitInputs);

        context.RegisterSourceOutput(results.SelectMany(static (result, _) => result.Diagnostics), static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(modelSet.SelectMany(static (set, _) => set.Diagnostics), static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(emitInputs, static (spc, input) =>
        {
            var (model, hosting) = input;
            spc.AddSource($"{model.Namespace}.{model.TypeName}.g.cs", ModelEmitter.Emit(model));
            if (hosting)
            {
                spc.AddSource($"{model.Namespace}.{model.TypeName}.Hosting.g.cs", HostingEmitter.Emit(model));
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
            Value(file, "build_metadata.AdditionalFiles.MoEModelPath"),
            Value(file, "build_metadata.AdditionalFiles.MoEPrecision"));
    }

    private static string? Value(AnalyzerConfigOptions options, string key) =>
        options.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
