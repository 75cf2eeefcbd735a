using Microsoft.Extensions.AI;
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

    /// <summary>The chat pipeline of the model named <paramref name="name"/> (its middleware around it); null when no model has that name.</summary>
    public IChatClient? FindChatClient(string name) => Names.Contains(name, StringComparer.Ordinal) ? services.GetRequiredKeyedService<IChatClient>(name) : null;
}

/// <summary>Marks that a model of this name was registered, with its builder.</summary>
public sealed record MoEModelRegistration(string Name, IMoEModelBuilder Builder);
