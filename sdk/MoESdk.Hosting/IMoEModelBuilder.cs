using Microsoft.Extensions.DependencyInjection;

namespace MoESdk.Hosting;

/// <summary>A model registered with <see cref="ServiceCollectionExtensions.AddMoEModel"/>, for further configuration.</summary>
public interface IMoEModelBuilder
{
    /// <summary>The model's name: its service key and configuration section <c>MoE:Models:{Name}</c>.</summary>
    string Name { get; }

    IServiceCollection Services { get; }
}

internal sealed record MoEModelBuilder(string Name, IServiceCollection Services) : IMoEModelBuilder;
