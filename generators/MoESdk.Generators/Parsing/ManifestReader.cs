using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Microsoft.CodeAnalysis.Text;
using MoESdk.Generators.Json;
using MoESdk.Generators.Model;

namespace MoESdk.Generators.Parsing;

/// <summary>
/// Reads one <c>moe.json</c> into a <see cref="ModelSpec"/>, or into diagnostics that point at the offending
/// line. Field names and meanings follow <c>MoESdk.Artifacts.MoEManifest</c> (camelCase JSON).
/// </summary>
internal static class ManifestReader
{
    /// <summary>The manifest schema this generator understands (<c>MoEManifest.CurrentSchemaVersion</c>).</summary>
    public const int SupportedSchemaVersion = 1;

    public static ManifestResult Read(string path, SourceText? text, ModelOptions options, CancellationToken cancellationToken)
    {
        if (text is null)
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.ManifestInvalid, LocationInfo.StartOf(path), path, "the file cannot be read"));
        }

        var content = text.ToString();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var root = JsonParser.Parse(content);
            return Read(path, text, root, options);
        }
        catch (JsonParseException e)
        {
            var location = At(path, text, e.Position);
            var line = location.LineSpan.Start;
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.ManifestInvalid, location, path,
                $"invalid JSON at line {line.Line + 1}, column {line.Character + 1}: {e.Message}"));
        }
        catch (ManifestFieldException e)
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.ManifestInvalid, At(path, text, e.Position), path, e.Message));
        }
    }

    private static ManifestResult Read(string path, SourceText text, JsonValue root, ModelOptions options)
    {
        var manifest = root as JsonObject ?? throw new ManifestFieldException("the document is not a JSON object", root.Position);
        var (schemaVersion, schemaPosition) = Int(manifest, "schemaVersion");
        if (schemaVersion != SupportedSchemaVersion)
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.SchemaVersionUnsupported, At(path, text, schemaPosition), path,
                schemaVersion.ToString(CultureInfo.InvariantCulture), SupportedSchemaVersion.ToString(CultureInfo.InvariantCulture)));
        }

        var nameValue = (JsonString)Required(manifest, "name", typeof(JsonString));
        var modelName = options.ModelName ?? nameValue.Value;
        // A name from item metadata has no place in the manifest; the file's start is the best location.
        var nameLocation = options.ModelName is null ? At(path, text, nameValue.Position) : LocationInfo.StartOf(path);
        var typeName = Identifiers.ToTypeName(modelName);
        if (typeName is null)
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidIdentifier, nameLocation, "model name", modelName,
                "it has no letter or digit. Set the OutputName metadata of its MoEModel item to a name such as 'my-model'."));
        }

        string? precision = null;
        if (options.Precision is { } requested && (precision = ModelPrecision.Member(requested)) is null)
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidPrecision, LocationInfo.StartOf(path), modelName, requested,
                string.Join(", ", ModelPrecision.Names)));
        }

        if (!Identifiers.IsNamespace(options.Namespace))
        {
            return Failed(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidIdentifier, LocationInfo.StartOf(path), "namespace", options.Namespace,
                "every dot-separated part must be a C# identifier. Set MoENamespace (item metadata) or MoESdkNamespace (property)."));
        }

        var source = Object(manifest, "source");
        var architecture = Object(manifest, "architecture");
        var method = Object(manifest, "method");
        var layers = ReadLayers(manifest);
        var (declaredLayers, declaredPosition) = Int(architecture, "layers");
        if (declaredLayers != layers.Count)
        {
            throw new ManifestFieldException(
                $"'architecture.layers' is {declaredLayers} but 'layers' lists {layers.Count} layers", declaredPosition);
        }

        var model = new ModelSpec(
            ModelName: modelName,
            TypeName: typeName + "MoE",
            Namespace: options.Namespace,
            ArtifactPath: options.ModelPath ?? modelName + ".moe",
            NameLocation: nameLocation,
            SourceSha256: String(source, "sha256"),
            Architecture: new ArchitectureSpec(
                String(architecture, "architecture"),
                Positive(architecture, "hiddenSize"),
                Positive(architecture, "intermediateSize"),
                Positive(architecture, "heads"),
                Positive(architecture, "keyValueHeads"),
                Positive(architecture, "vocabSize"),
                Positive(architecture, "contextLength")),
            Method: new MethodSpec(String(method, "name"), String(method, "partition"), String(method, "router"), String(method, "outputRule")),
            Layers: layers,
            ActiveFeedForwardRatio: OptionalDouble(manifest, "activeFeedForwardRatio"),
            Precision: precision);
        return new ManifestResult(model, EquatableArray<DiagnosticInfo>.Empty);
    }

    private static EquatableArray<LayerSpec> ReadLayers(JsonObject manifest)
    {
        var array = (JsonArray)Required(manifest, "layers", typeof(JsonArray));
        if (array.Items.Count == 0)
        {
            throw new ManifestFieldException("'layers' is empty", array.Position);
        }

        var layers = new List<LayerSpec>(array.Items.Count);
        foreach (var item in array.Items)
        {
            var layer = item as JsonObject ?? throw new ManifestFieldException($"'layers[{layers.Count}]' is not an object", item.Position);
            var experts = Positive(layer, "experts");
            var (topK, topKPosition) = Int(layer, "topK");
            if (topK < 1 || topK > experts)
            {
                throw new ManifestFieldException($"'layers[{layers.Count}].topK' is {topK} but must be between 1 and the layer's {experts} experts", topKPosition);
            }

            layers.Add(new LayerSpec(experts, Positive(layer, "expertWidth"), topK,
                OptionalNonNegative(layer, "sharedExperts"), OptionalNonNegative(layer, "sharedWidth")));
        }

        return new EquatableArray<LayerSpec>(layers);
    }

    private static JsonValue Required(JsonObject owner, string name, Type kind)
    {
        if (!owner.Members.TryGetValue(name, out var value))
        {
            throw new ManifestFieldException($"the property '{name}' is missing", owner.Position);
        }

        if (!kind.IsInstanceOfType(value))
        {
            var expected = kind == typeof(JsonString) ? "a string" : kind == typeof(JsonNumber) ? "a number" : kind == typeof(JsonArray) ? "an array" : "an object";
            throw new ManifestFieldException($"the property '{name}' must be {expected}", value.Position);
        }

        return value;
    }

    private static JsonObject Object(JsonObject owner, string name) => (JsonObject)Required(owner, name, typeof(JsonObject));

    private static string String(JsonObject owner, string name) => ((JsonString)Required(owner, name, typeof(JsonString))).Value;

    private static (int Value, int Position) Int(JsonObject owner, string name)
    {
        var number = (JsonNumber)Required(owner, name, typeof(JsonNumber));
        if (!int.TryParse(number.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new ManifestFieldException($"the property '{name}' must be a whole number, not {number.Text}", number.Position);
        }

        return (value, number.Position);
    }

    private static int Positive(JsonObject owner, string name)
    {
        var (value, position) = Int(owner, name);
        return value >= 1 ? value : throw new ManifestFieldException($"the property '{name}' must be at least 1, not {value}", position);
    }

    private static int OptionalNonNegative(JsonObject owner, string name)
    {
        if (!owner.Members.ContainsKey(name))
        {
            return 0;
        }

        var (value, position) = Int(owner, name);
        return value >= 0 ? value : throw new ManifestFieldException($"the property '{name}' must not be negative", position);
    }

    private static double OptionalDouble(JsonObject owner, string name)
    {
        if (!owner.Members.ContainsKey(name))
        {
            return 0;
        }

        var number = (JsonNumber)Required(owner, name, typeof(JsonNumber));
        return double.Parse(number.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static LocationInfo At(string path, SourceText text, int position)
    {
        var start = text.Lines.GetLinePosition(position);
        return new LocationInfo(path, new TextSpan(position, 0), new LinePositionSpan(start, start));
    }

    private static ManifestResult Failed(DiagnosticInfo diagnostic) =>
        new(null, new EquatableArray<DiagnosticInfo>(new[] { diagnostic }));

    /// <summary>A manifest field is missing or has the wrong type or value.</summary>
    private sealed class ManifestFieldException : Exception
    {
        public ManifestFieldException(string message, int position)
            : base(message) => Position = position;

        public int Position { get; }
    }
}
