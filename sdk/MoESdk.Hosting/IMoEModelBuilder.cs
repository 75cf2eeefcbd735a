using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace MoESdk.Hosting;

/// <summary>A model registered with <see cref="ServiceCollectionExtensions.AddMoEModel"/>, for further configuration.</summary>
public interface IMoEModelBuilder
{
    /// <summary>The model's name: its service key and configuration section <c>MoE:Models:{Name}</c>.</summary>
    string Name { get; }

    IServiceCollection Services { get; }

    /// <summary>
    /// The model's <see cref="IChatClient"/> pipeline, registered under the model's name: add Microsoft.Extensions.AI
    /// middleware to it (<c>UseLogging()</c>, <c>UseOpenTelemetry()</c>, <c>UseDistributedCache()</c>, <c>Use(...)</c>).
    /// <see cref="Serving.IMoEModel"/> stays the model itself.
    /// </summary>
    ChatClientBuilder ChatClient { get; }
}

internal sealed record MoEModelBuilder(string Name, IServiceCollection Services, ChatClientBuilder ChatClient) : IMoEModelBuilder;
