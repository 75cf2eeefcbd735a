using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MoESdk.Serving;

namespace MoESdk.Hosting;

/// <summary>Registers MoESdk models with dependency injection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>The configuration section a model's options are bound from.</summary>
    public static string ConfigurationSection(string name) => $"MoE:Models:{name}";

    /// <summary>
    /// Registers the model <paramref name="name"/>: <see cref="MoEModelOptions"/> bound from the configuration section
    /// <c>MoE:Models:{name}</c> and then <paramref name="configure"/>, validated when the host starts;
    /// <see cref="IMoEModel"/> keyed by <paramref name="name"/>, and <see cref="IChatClient"/> keyed by it: a pipeline over the
    /// model that <see cref="IMoEModelBuilder.ChatClient"/> composes (both also unkeyed for the first model registered); a hosted service that loads and warms the model on start; and the health check "moe-{name}".
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The model's name: its service key and configuration section.</param>
    /// <param name="configure">Adjusts the options after configuration binding.</param>
    public static IMoEModelBuilder AddMoEModel(this IServiceCollection services, string name, Action<MoEModelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        OptionsBuilder<MoEModelOptions> options = services.AddOptions<MoEModelOptions>(name);
        if (services.Select(d => d.ImplementationInstance).OfType<MoEModelRegistration>().FirstOrDefault(r => r.Name == name) is { } registered)
        {
            // Registered before: only the extra configuration is added.
            if (configure is not null)
            {
                options.Configure(configure);
            }
            return registered.Builder;
        }

        // Configuration first, then code: the callback sees (and may override) what configuration set.
        options.BindConfiguration(ConfigurationSection(name)).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        // A relative path is relative to the app's content root, not to whatever the working directory is.
        options.PostConfigure<IServiceProvider>((o, provider) =>
        {
            if (!string.IsNullOrWhiteSpace(o.Path) && !Path.IsPathRooted(o.Path) && provider.GetService<IHostEnvironment>() is { } environment)
            {
                o.Path = Path.GetFullPath(o.Path, environment.ContentRootPath);
            }
        });
        services.AddSingleton<IValidateOptions<MoEModelOptions>>(new MoEModelOptionsValidator(name));
        services.TryAddSingleton<MoEModelCatalog>();

        services.AddKeyedSingleton<IMoEModel>(name, (provider, _) => Load(provider, name));
        // The chat pipeline: the model innermost, the middleware the app adds (logging, telemetry, caching) around it.
        ChatClientBuilder chat = services.AddKeyedChatClient(name, provider => provider.GetRequiredKeyedService<IMoEModel>(name));
        var builder = new MoEModelBuilder(name, services, chat);
        services.AddSingleton(new MoEModelRegistration(name, builder));
        services.TryAddSingleton(provider => provider.GetRequiredKeyedService<IMoEModel>(name));
        services.TryAddSingleton(provider => provider.GetRequiredKeyedService<IChatClient>(name));

        var readiness = new MoEModelReadiness(name);
        services.AddKeyedSingleton(name, readiness);
        // Not AddHostedService: it registers one service per implementation type, and each model needs its own.
        services.AddSingleton<IHostedService>(provider => new MoEModelWarmup(name, provider, readiness));
        services.AddHealthChecks().Add(new HealthCheckRegistration($"moe-{name}", _ => new MoEModelHealthCheck(readiness), HealthStatus.Unhealthy, ["moe"]));
        return builder;
    }

    private static MoEModel Load(IServiceProvider provider, string name)
    {
        MoEModelOptions options = provider.GetRequiredService<IOptionsMonitor<MoEModelOptions>>().Get(name);
        return MoEModel.Open(options.Path, new MoEServingOptions
        {
            Name = name,
            ExpertsPerToken = MoEModelOptionsValidator.ExpertsPerTokenSetting(options).Value,
            Device = options.Device,
            Precision = options.Precision,
            MapWeights = options.MapWeights,
            MaxConcurrentRequests = options.MaxConcurrentRequests,
            MaxBatchSize = options.MaxBatchSize,
            QueueCapacity = options.QueueCapacity,
            MeterFactory = provider.GetService<IMeterFactory>(),
        });
    }
}
