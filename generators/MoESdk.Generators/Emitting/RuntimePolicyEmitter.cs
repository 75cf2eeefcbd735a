using MoESdk.Generators.Model;

namespace MoESdk.Generators.Emitting;

/// <summary>
/// Emits the conversion of the typed <c>RoutingPolicy</c> to MoESdk's <c>ExpertRoutingPolicy</c>, which serving
/// requests and Mixture-of-Experts blocks apply. Emitted only when the compilation references MoESdk.
/// </summary>
internal static class RuntimePolicyEmitter
{
    public static string Emit(ModelSpec model)
    {
        var writer = new CodeWriter();
        writer.Block(GeneratedCode.Header(model.ModelName));
        writer.Block(
$$"""
namespace {{model.Namespace}}
{
    public static partial class {{model.TypeName}}
    {
        public sealed partial class RoutingPolicy
        {
            /// <summary>
            /// This policy as MoESdk's runtime policy, by layer and expert index, for
            /// <c>MoEGenerationOptions.RoutingPolicy</c> or a block's <c>RoutingPolicy</c>. Layers without rules are left out.
            /// </summary>
            /// <returns>The runtime policy.</returns>
            public global::MoESdk.Modules.ExpertRoutingPolicy ToRuntimePolicy()
            {
                var layers = new global::System.Collections.Generic.Dictionary<int, global::MoESdk.Modules.LayerRoutingPolicy>();
                foreach (var router in Routers)
                {
                    var layerDisabled = new global::System.Collections.Generic.List<int>();
                    foreach (var expert in disabled)
                    {
                        if (expert.Layer == router.Layer)
                        {
                            layerDisabled.Add(expert.Index);
                        }
                    }

                    var layerPinned = new global::System.Collections.Generic.List<int>();
                    foreach (var expert in pinned)
                    {
                        if (expert.Layer == router.Layer)
                        {
                            layerPinned.Add(expert.Index);
                        }
                    }

                    int? k = topK.TryGetValue(router.Layer, out var value) ? value : (int?)null;
                    if (layerDisabled.Count > 0 || layerPinned.Count > 0 || k.HasValue)
                    {
                        layers[router.Layer.Index] = new global::MoESdk.Modules.LayerRoutingPolicy(layerDisabled, layerPinned, k);
                    }
                }

                return new global::MoESdk.Modules.ExpertRoutingPolicy(layers);
            }

            /// <summary>Converts a typed policy to MoESdk's runtime policy (see <see cref="ToRuntimePolicy"/>); null stays null.</summary>
            /// <param name="policy">The typed policy.</param>
            [return: global::System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(policy))]
            public static implicit operator global::MoESdk.Modules.ExpertRoutingPolicy?(RoutingPolicy? policy) => policy?.ToRuntimePolicy();
        }
    }
}
""");
        return writer.ToString();
    }
}
