namespace MoESdk.Generators;

/// <summary>Names of the generator's pipeline steps, for tests that assert which steps ran again.</summary>
public static class TrackingNames
{
    /// <summary>The moe.json additional files, with their options.</summary>
    public const string Manifests = nameof(Manifests);

    /// <summary>Each manifest read into a model or diagnostics.</summary>
    public const string ManifestResults = nameof(ManifestResults);

    /// <summary>All models, with duplicate names removed.</summary>
    public const string ModelSet = nameof(ModelSet);

    /// <summary>Each model to emit.</summary>
    public const string Models = nameof(Models);

    /// <summary>Whether the compilation references MoESdk.Hosting.</summary>
    public const string HostingAvailable = nameof(HostingAvailable);

    /// <summary>Each model paired with the hosting flag, the input of emission.</summary>
    public const string EmitInputs = nameof(EmitInputs);
}
