using Microsoft.Extensions.DependencyInjection;
using MoESdk.Serving;

namespace MoESdk.Hosting;

/// <summary>The models registered with <see cref="ServiceCollectionExtensions.AddMoEModel"/>, by name.</summary>
public sealed class MoEModelCatalog(IEnumerable<MoEModelRegistration> registrations, IServiceProvider services)
{
    /// <summary>Registered names, in registration order; the first is the default model.</summary>
    public IReadOnlyList<string> Names { get; } = registrations.Select(r => r.Name).ToArray();

    /// <summary>The model named <paramref name="name"/>, loading it if needed; null when no model has that name.</summary>
    public IMoEModel? Find(string name) => Names.Contains(name, StringComparer.Ordinal) ? services.GetRequiredKeyedService<IMoEModel>(name) : null;
}

/// <summary>Marks that a model of this name was registered.</summary>
public sealed record MoEModelRegistration(string Name);
