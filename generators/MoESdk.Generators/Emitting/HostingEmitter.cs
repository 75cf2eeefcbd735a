using MoESdk.Generators.Model;

namespace MoESdk.Generators.Emitting;

/// <summary>
/// Emits <c>services.Add{Name}MoE()</c>, which registers the model through MoESdk.Hosting's
/// <c>AddMoEModel(name, configure)</c> with the artifact path from the build as the default. It lives in
/// Microsoft.Extensions.DependencyInjection, like the framework's own Add… methods, so top-level programs find it
/// without a using directive.
/// </summary>
internal static class HostingEmitter
{
    public static string Emit(ModelSpec model)
    {
        var name = Literals.Xml(model.ModelName);
        var modelType = $"global::{model.Namespace}.{model.TypeName}";
        // Registered before AddMoEModel binds the configuration: appsettings and the configure callback still override it.
        var precisionDefault = model.Precision is null ? "" : $$"""
            services.Configure<MoEModelOptions>({{modelType}}.ModelName, options => options.Precision = global::MoESdk.Inference.DecodePrecision.{{model.Precision}});
""";
        var writer = new CodeWriter();
        writer.Block(GeneratedCode.Header(model.ModelName));
        writer.Block(
$$"""
namespace Microsoft.Extensions.DependencyInjection
{
    using global::MoESdk.Hosting;

    /// <summary>Registers the MoE model <c>{{name}}</c> with the MoESdk hosting extension.</summary>
    {{GeneratedCode.Attribute}}
    public static partial class {{model.TypeName}}ServiceCollectionExtensions
    {
        /// <summary>
        /// Registers the MoE model <c>{{name}}</c> (also keyed by its name) with options bound from the configuration
        /// section <c>MoE:Models:{{name}}</c>. Unless configured otherwise, the artifact is loaded from
        /// <see cref="{{modelType}}.ArtifactPath"/> under the application's base directory.
        /// </summary>
        /// <param name="services">The service collection to add the model to.</param>
        /// <param name="configure">Adjusts the model's options after the defaults and the configuration are applied.</param>
        /// <returns>A builder to configure the model's registration further.</returns>
        public static IMoEModelBuilder Add{{model.TypeName}}(this IServiceCollection services, global::System.Action<MoEModelOptions>? configure = null)
        {
{{precisionDefault}}            return services.AddMoEModel({{modelType}}.ModelName, options =>
            {
                if (string.IsNullOrEmpty(options.Path))
                {
                    options.Path = global::System.IO.Path.Combine(global::System.AppContext.BaseDirectory, {{modelType}}.ArtifactPath);
                }

                configure?.Invoke(options);
            });
        }
    }
}
""");
        return writer.ToString();
    }
}
