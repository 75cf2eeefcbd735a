using System.Linq;
using MoESdk.Generators.Model;

namespace MoESdk.Generators.Emitting;

/// <summary>
/// Emits <c>{Name}MoE</c>: the manifest's facts as constants and as the runtime's router descriptors, and a typed
/// handle for each layer and expert (<c>Experts.Layer3.Expert5</c> exists only when the manifest has that expert, so a
/// wrong index does not compile). Identities, descriptors and the routing policy builder are MoESdk.Runtime's own types,
/// shared by every model, and validation is the runtime's: the generated code holds facts, not logic.
/// </summary>
internal static class ModelEmitter
{
    /// <summary>The runtime namespace of the shared types the facts are emitted as.</summary>
    private const string Runtime = "global::MoESdk.Runtime";

    public static string Emit(ModelSpec model)
    {
        var writer = new CodeWriter();
        writer.Block(GeneratedCode.Header(model.ModelName));
        writer.Line($"namespace {model.Namespace}");
        writer.OpenBrace();
        var name = Literals.Xml(model.ModelName);
        writer.Line("/// <summary>");
        writer.Line($"/// The MoE model <c>{name}</c>: the facts of its manifest as constants, its routers (<see cref=\"Routers\"/>), a");
        writer.Line("/// typed handle for each of its layers and experts (<see cref=\"Experts\"/>) and routing policies");
        writer.Line("/// (<see cref=\"CreateRoutingPolicy\"/>).");
        writer.Line("/// </summary>");
        writer.Line(GeneratedCode.Attribute);
        writer.Line($"public static partial class {model.TypeName}");
        writer.OpenBrace();
        WriteConstants(writer, model);
        WriteRouters(writer, model);
        WriteRoutingPolicy(writer, model);
        WriteExperts(writer, model);
        writer.CloseBrace();
        writer.CloseBrace();
        return writer.ToString();
    }

    private static void WriteConstants(CodeWriter writer, ModelSpec model)
    {
        var name = Literals.Xml(model.ModelName);
        Constant(writer, "string", "ModelName", Literals.String(model.ModelName),
            $"The model's name, <c>{name}</c>: the key it is registered under and its configuration section's name.");
        Constant(writer, "string", "ConfigurationSection", Literals.String("MoE:Models:" + model.ModelName),
            "The configuration section the hosting extension binds this model's options from.");
        Constant(writer, "string", "ArtifactPath", Literals.String(model.ArtifactPath),
            "The artifact folder, relative to the application's base directory, loaded when no path is configured.");
        Constant(writer, "string", "SourceSha256", Literals.String(model.SourceSha256),
            "SHA-256 of the dense source model's weight and config files: identifies the exact model it was converted from.");
        Constant(writer, "string", "Architecture", Literals.String(model.Architecture.Name), "The decoder architecture, e.g. LlamaForCausalLM.");
        Constant(writer, "string", "Method", Literals.String(model.Method.Name), "The conversion method (factor, tomoe, cluster or coact).");
        Constant(writer, "string", "Partition", Literals.String(model.Method.Partition), "How the feed-forward neurons were split into experts.");
        Constant(writer, "string", "RouterKind", Literals.String(model.Method.Router), "How the routers were made (analytic, par or gumbel).");
        Constant(writer, "string", "OutputRule", Literals.String(model.Method.OutputRule), "How the outputs of the chosen experts combine.");
        Constant(writer, "int", "Layers", Literals.Int(model.Layers.Count), "Decoder layers, each with its own experts and router.");
        Constant(writer, "int", "HiddenSize", Literals.Int(model.Architecture.HiddenSize), "Width of the hidden state (the router's input).");
        Constant(writer, "int", "IntermediateSize", Literals.Int(model.Architecture.IntermediateSize), "Feed-forward width of the dense source model.");
        Constant(writer, "int", "Heads", Literals.Int(model.Architecture.Heads), "Attention heads.");
        Constant(writer, "int", "KeyValueHeads", Literals.Int(model.Architecture.KeyValueHeads), "Key/value heads (grouped-query attention).");
        Constant(writer, "int", "VocabSize", Literals.Int(model.Architecture.VocabSize), "Tokens in the vocabulary.");
        Constant(writer, "int", "ContextLength", Literals.Int(model.Architecture.ContextLength), "Longest sequence the model was built for, in tokens.");
        var first = model.Layers[0];
        // Per-layer values that every layer shares become constants; otherwise they live only in Routers.
        if (model.Layers.All(layer => layer.Experts == first.Experts))
        {
            Constant(writer, "int", "ExpertsPerLayer", Literals.Int(first.Experts), "Routed experts in every layer.");
        }

        if (model.Layers.All(layer => layer.TopK == first.TopK))
        {
            Constant(writer, "int", "ExpertsPerToken", Literals.Int(first.TopK), "Routed experts each token runs through, in every layer.");
        }

        if (model.Layers.All(layer => layer.ExpertWidth == first.ExpertWidth))
        {
            Constant(writer, "int", "ExpertWidth", Literals.Int(first.ExpertWidth), "Feed-forward neurons of each routed expert, in every layer.");
        }

        if (model.Layers.All(layer => layer.SharedExperts == first.SharedExperts))
        {
            Constant(writer, "int", "SharedExperts", Literals.Int(first.SharedExperts), "Always-on experts in every layer.");
        }

        Constant(writer, "double", "ActiveFeedForwardRatio", Literals.Double(model.ActiveFeedForwardRatio),
            "Feed-forward parameters a token uses over all feed-forward parameters of the dense source model.");
    }

    private static void WriteRouters(CodeWriter writer, ModelSpec model)
    {
        Summary(writer, "The router of each layer, indexed by layer: its experts, experts per token and shared experts.");
        writer.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.RouterDescriptor> Routers {{ get; }} = new {Runtime}.RouterDescriptor[]");
        writer.OpenBrace();
        for (var i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            writer.Line($"new {Runtime}.RouterDescriptor(new {Runtime}.LayerId({i}), experts: {layer.Experts}, expertsPerToken: {layer.TopK}, expertWidth: {layer.ExpertWidth}, sharedExperts: {layer.SharedExperts}, sharedWidth: {layer.SharedWidth}),");
        }

        writer.CloseBrace(";");
        writer.Line();
    }

    private static void WriteRoutingPolicy(CodeWriter writer, ModelSpec model)
    {
        Summary(writer, $"Starts a routing policy for <c>{Literals.Xml(model.ModelName)}</c>: disable, pin or change the experts per token of typed experts and layers; <c>Build()</c> checks it against <see cref=\"Routers\"/>.");
        writer.Line($"public static {Runtime}.RoutingPolicyBuilder CreateRoutingPolicy() => new {Runtime}.RoutingPolicyBuilder(Routers);");
        writer.Line();
    }

    private static void WriteExperts(CodeWriter writer, ModelSpec model)
    {
        Summary(writer, "Every layer and routed expert, by name: <c>Experts.Layer3.Expert5</c> compiles only if the manifest has that expert.");
        writer.Line("public static class Experts");
        writer.OpenBrace();
        for (var i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            Summary(writer, $"Layer {i}: {layer.Experts} routed experts, {layer.TopK} per token.");
            writer.Line($"public static class Layer{i}");
            writer.OpenBrace();
            Summary(writer, $"Layer {i}'s router.");
            writer.Line($"public static {Runtime}.RouterDescriptor Router => Routers[{i}];");
            Summary(writer, $"Layer {i}'s identity.");
            writer.Line($"public static {Runtime}.LayerId Id => Router.Layer;");
            Summary(writer, $"All {layer.Experts} routed experts of layer {i}, in index order.");
            writer.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.ExpertId> All => Router.ExpertIds;");
            for (var e = 0; e < layer.Experts; e++)
            {
                Summary(writer, $"Expert {e} of layer {i}.");
                writer.Line($"public static {Runtime}.ExpertId Expert{e} => All[{e}];");
            }

            writer.CloseBrace();
        }

        writer.CloseBrace();
    }

    private static void Constant(CodeWriter writer, string type, string name, string value, string summary)
    {
        Summary(writer, summary);
        writer.Line($"public const {type} {name} = {value};");
        writer.Line();
    }

    private static void Summary(CodeWriter writer, string summary) => writer.Line($"/// <summary>{summary}</summary>");
}
