using System.Linq;
using MoESdk.Generators.Model;

namespace MoESdk.Generators.Emitting;

/// <summary>
/// Emits <c>{Name}MoE</c>: the manifest's facts as constants, typed layer and expert identities
/// (<c>Experts.Layer3.Expert5</c> exists only when the manifest has that expert, so a wrong index does not
/// compile), router descriptors and a routing policy builder over those identities.
/// </summary>
internal static class ModelEmitter
{
    public static string Emit(ModelSpec model)
    {
        var writer = new CodeWriter();
        writer.Block(GeneratedCode.Header(model.ModelName));
        writer.Line($"namespace {model.Namespace}");
        writer.OpenBrace();
        var name = Literals.Xml(model.ModelName);
        writer.Line("/// <summary>");
        writer.Line($"/// The MoE model <c>{name}</c>: the facts of its manifest as constants, a typed identity for each of its");
        writer.Line("/// layers and experts (<see cref=\"Experts\"/>), its routers (<see cref=\"Routers\"/>) and routing policies");
        writer.Line("/// (<see cref=\"CreateRoutingPolicy\"/>).");
        writer.Line("/// </summary>");
        writer.Line(GeneratedCode.Attribute);
        writer.Line($"public static partial class {model.TypeName}");
        writer.OpenBrace();
        WriteConstants(writer, model);
        WriteRouters(writer, model);
        WriteIdentities(writer, model);
        WriteExperts(writer, model);
        WriteRoutingPolicy(writer, model);
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
            Constant(writer, "int", "TopK", Literals.Int(first.TopK), "Routed experts each token runs through, in every layer.");
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
        Summary(writer, "The router of each layer, indexed by layer: its experts, top-k and shared experts.");
        writer.Line("public static global::System.Collections.Generic.IReadOnlyList<RouterDescriptor> Routers { get; } = new RouterDescriptor[]");
        writer.OpenBrace();
        for (var i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            writer.Line($"new RouterDescriptor(new LayerId({i}), experts: {layer.Experts}, topK: {layer.TopK}, expertWidth: {layer.ExpertWidth}, sharedExperts: {layer.SharedExperts}, sharedWidth: {layer.SharedWidth}),");
        }

        writer.CloseBrace(";");
        writer.Line();
    }

    private static void WriteIdentities(CodeWriter writer, ModelSpec model)
    {
        var name = Literals.Xml(model.ModelName);
        writer.Block(
$$"""
/// <summary>A decoder layer of <c>{{name}}</c>. Obtained from <see cref="Experts"/>, so it always names a layer the model has.</summary>
public readonly struct LayerId : global::System.IEquatable<LayerId>
{
    internal LayerId(int index) => Index = index;

    /// <summary>Zero-based layer index.</summary>
    public int Index { get; }

    /// <summary>This layer's router.</summary>
    public RouterDescriptor Router => Routers[Index];

    /// <inheritdoc/>
    public bool Equals(LayerId other) => Index == other.Index;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is LayerId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Index;

    /// <inheritdoc/>
    public override string ToString() => "layer " + Index;

    /// <summary>Whether two identities name the same layer.</summary>
    public static bool operator ==(LayerId left, LayerId right) => left.Equals(right);

    /// <summary>Whether two identities name different layers.</summary>
    public static bool operator !=(LayerId left, LayerId right) => !left.Equals(right);
}

/// <summary>
/// A routed expert of <c>{{name}}</c>, as (layer, expert). Obtained from <see cref="Experts"/> (e.g.
/// <c>Experts.Layer0.Expert0</c>), so it always names an expert the manifest has.
/// </summary>
public readonly struct ExpertId : global::System.IEquatable<ExpertId>
{
    internal ExpertId(int layer, int index)
    {
        Layer = new LayerId(layer);
        Index = index;
    }

    /// <summary>The layer the expert belongs to.</summary>
    public LayerId Layer { get; }

    /// <summary>Zero-based expert index within its layer (the router's output index).</summary>
    public int Index { get; }

    /// <inheritdoc/>
    public bool Equals(ExpertId other) => Layer.Equals(other.Layer) && Index == other.Index;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ExpertId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (Layer.Index * 397) ^ Index;

    /// <inheritdoc/>
    public override string ToString() => "layer " + Layer.Index + ", expert " + Index;

    /// <summary>Whether two identities name the same expert.</summary>
    public static bool operator ==(ExpertId left, ExpertId right) => left.Equals(right);

    /// <summary>Whether two identities name different experts.</summary>
    public static bool operator !=(ExpertId left, ExpertId right) => !left.Equals(right);
}

/// <summary>A layer's router, as the manifest describes it.</summary>
public sealed class RouterDescriptor
{
    internal RouterDescriptor(LayerId layer, int experts, int topK, int expertWidth, int sharedExperts, int sharedWidth)
    {
        Layer = layer;
        Experts = experts;
        TopK = topK;
        ExpertWidth = expertWidth;
        SharedExperts = sharedExperts;
        SharedWidth = sharedWidth;
    }

    /// <summary>The layer this router belongs to.</summary>
    public LayerId Layer { get; }

    /// <summary>Routed experts the router chooses from.</summary>
    public int Experts { get; }

    /// <summary>Routed experts each token runs through.</summary>
    public int TopK { get; }

    /// <summary>Feed-forward neurons of each routed expert.</summary>
    public int ExpertWidth { get; }

    /// <summary>Always-on experts, run for every token besides the routed ones.</summary>
    public int SharedExperts { get; }

    /// <summary>Feed-forward neurons of each shared expert (0 when there are none).</summary>
    public int SharedWidth { get; }
}

""");
    }

    private static void WriteExperts(CodeWriter writer, ModelSpec model)
    {
        Summary(writer, "Every layer and routed expert, by name: <c>Experts.Layer3.Expert5</c> compiles only if the manifest has that expert.");
        writer.Line("public static class Experts");
        writer.OpenBrace();
        for (var i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            Summary(writer, $"Layer {i}: {layer.Experts} routed experts, top-{layer.TopK}.");
            writer.Line($"public static class Layer{i}");
            writer.OpenBrace();
            Summary(writer, $"Layer {i}'s identity.");
            writer.Line($"public static LayerId Id {{ get; }} = new LayerId({i});");
            writer.Line();
            Summary(writer, $"Layer {i}'s router.");
            writer.Line($"public static RouterDescriptor Router => Routers[{i}];");
            for (var e = 0; e < layer.Experts; e++)
            {
                writer.Line();
                Summary(writer, $"Expert {e} of layer {i}.");
                writer.Line($"public static ExpertId Expert{e} {{ get; }} = new ExpertId({i}, {e});");
            }

            writer.Line();
            Summary(writer, $"All {layer.Experts} routed experts of layer {i}, in index order.");
            writer.Line("public static global::System.Collections.Generic.IReadOnlyList<ExpertId> All { get; } = new ExpertId[]");
            writer.OpenBrace();
            for (var e = 0; e < layer.Experts; e++)
            {
                writer.Line($"Expert{e},");
            }

            writer.CloseBrace(";");
            writer.CloseBrace();
            if (i + 1 < model.Layers.Count)
            {
                writer.Line();
            }
        }

        writer.CloseBrace();
        writer.Line();
    }

    private static void WriteRoutingPolicy(CodeWriter writer, ModelSpec model)
    {
        var name = Literals.Xml(model.ModelName);
        writer.Block(
$$"""
/// <summary>Starts a routing policy for <c>{{name}}</c>: pin, disable or re-size the top-k of typed experts and layers.</summary>
/// <returns>An empty policy builder: every expert enabled, the manifest's top-k in every layer.</returns>
public static RoutingPolicyBuilder CreateRoutingPolicy() => new RoutingPolicyBuilder();

/// <summary>
/// Builds a <see cref="RoutingPolicy"/> from typed experts, e.g.
/// <c>CreateRoutingPolicy().Disable(Experts.Layer0.Expert1).Pin(Experts.Layer0.Expert0).Build()</c>.
/// Consistency is checked as rules are added and again in <see cref="Build"/>.
/// </summary>
public sealed class RoutingPolicyBuilder
{
    private readonly global::System.Collections.Generic.HashSet<ExpertId> disabled = new global::System.Collections.Generic.HashSet<ExpertId>();
    private readonly global::System.Collections.Generic.HashSet<ExpertId> pinned = new global::System.Collections.Generic.HashSet<ExpertId>();
    private readonly global::System.Collections.Generic.Dictionary<LayerId, int> topK = new global::System.Collections.Generic.Dictionary<LayerId, int>();

    internal RoutingPolicyBuilder()
    {
    }

    /// <summary>Never routes tokens to <paramref name="expert"/>.</summary>
    /// <param name="expert">The expert to switch off.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="global::System.InvalidOperationException">The expert is pinned.</exception>
    public RoutingPolicyBuilder Disable(ExpertId expert)
    {
        if (pinned.Contains(expert))
        {
            throw new global::System.InvalidOperationException("Cannot disable " + expert + ": it is pinned. Remove the Pin or the Disable.");
        }

        disabled.Add(expert);
        return this;
    }

    /// <summary>Always runs <paramref name="expert"/>, as one of its layer's top-k.</summary>
    /// <param name="expert">The expert every token of its layer runs through.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="global::System.InvalidOperationException">The expert is disabled.</exception>
    public RoutingPolicyBuilder Pin(ExpertId expert)
    {
        if (disabled.Contains(expert))
        {
            throw new global::System.InvalidOperationException("Cannot pin " + expert + ": it is disabled. Remove the Pin or the Disable.");
        }

        pinned.Add(expert);
        return this;
    }

    /// <summary>Runs <paramref name="k"/> experts per token in <paramref name="layer"/> instead of the manifest's top-k.</summary>
    /// <param name="layer">The layer to change.</param>
    /// <param name="k">Experts per token, from 1 to the layer's expert count.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="global::System.ArgumentOutOfRangeException"><paramref name="k"/> is outside 1 to the layer's expert count.</exception>
    public RoutingPolicyBuilder WithTopK(LayerId layer, int k)
    {
        if (k < 1 || k > layer.Router.Experts)
        {
            throw new global::System.ArgumentOutOfRangeException(nameof(k), k, "Top-k of " + layer + " must be between 1 and its " + layer.Router.Experts + " experts.");
        }

        topK[layer] = k;
        return this;
    }

    /// <summary>Checks that every layer can still route its top-k and returns the immutable policy.</summary>
    /// <returns>The policy.</returns>
    /// <exception cref="global::System.InvalidOperationException">A layer has fewer enabled experts than its top-k, or more pinned experts than its top-k.</exception>
    public RoutingPolicy Build()
    {
        foreach (var router in Routers)
        {
            var k = topK.TryGetValue(router.Layer, out var chosen) ? chosen : router.TopK;
            var enabled = router.Experts - global::System.Linq.Enumerable.Count(disabled, expert => expert.Layer == router.Layer);
            var pins = global::System.Linq.Enumerable.Count(pinned, expert => expert.Layer == router.Layer);
            if (enabled < k)
            {
                throw new global::System.InvalidOperationException(router.Layer + " keeps " + enabled + " enabled experts but routes to " + k + ": enable more experts or lower its top-k.");
            }

            if (pins > k)
            {
                throw new global::System.InvalidOperationException(router.Layer + " pins " + pins + " experts but routes to only " + k + ": pin fewer or raise its top-k.");
            }
        }

        return new RoutingPolicy(disabled, pinned, topK);
    }
}

/// <summary>
/// An immutable routing policy for <c>{{name}}</c>: disabled and pinned experts and per-layer top-k. When the
/// compilation references MoESdk, it converts to the runtime's <c>MoESdk.Modules.ExpertRoutingPolicy</c>.
/// </summary>
public sealed partial class RoutingPolicy
{
    private readonly global::System.Collections.Generic.HashSet<ExpertId> disabled;
    private readonly global::System.Collections.Generic.HashSet<ExpertId> pinned;
    private readonly global::System.Collections.Generic.Dictionary<LayerId, int> topK;

    internal RoutingPolicy(
        global::System.Collections.Generic.IEnumerable<ExpertId> disabled,
        global::System.Collections.Generic.IEnumerable<ExpertId> pinned,
        global::System.Collections.Generic.IDictionary<LayerId, int> topK)
    {
        this.disabled = new global::System.Collections.Generic.HashSet<ExpertId>(disabled);
        this.pinned = new global::System.Collections.Generic.HashSet<ExpertId>(pinned);
        this.topK = new global::System.Collections.Generic.Dictionary<LayerId, int>(topK);
    }

    /// <summary>Experts no token is routed to.</summary>
    public global::System.Collections.Generic.IReadOnlyCollection<ExpertId> Disabled => disabled;

    /// <summary>Experts every token of their layer runs through.</summary>
    public global::System.Collections.Generic.IReadOnlyCollection<ExpertId> Pinned => pinned;

    /// <summary>Whether tokens are never routed to <paramref name="expert"/>.</summary>
    /// <param name="expert">The expert.</param>
    /// <returns>True when the policy disables it.</returns>
    public bool IsDisabled(ExpertId expert) => disabled.Contains(expert);

    /// <summary>Whether every token of its layer runs through <paramref name="expert"/>.</summary>
    /// <param name="expert">The expert.</param>
    /// <returns>True when the policy pins it.</returns>
    public bool IsPinned(ExpertId expert) => pinned.Contains(expert);

    /// <summary>Experts per token in <paramref name="layer"/> under this policy.</summary>
    /// <param name="layer">The layer.</param>
    /// <returns>The policy's top-k for the layer, else the manifest's.</returns>
    public int TopK(LayerId layer) => topK.TryGetValue(layer, out var k) ? k : layer.Router.TopK;
}
""");
    }

    private static void Constant(CodeWriter writer, string type, string name, string value, string summary)
    {
        Summary(writer, summary);
        writer.Line($"public const {type} {name} = {value};");
        writer.Line();
    }

    private static void Summary(CodeWriter writer, string summary) => writer.Line($"/// <summary>{summary}</summary>");
}
