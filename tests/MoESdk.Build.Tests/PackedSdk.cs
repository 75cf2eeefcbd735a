namespace MoESdk.Build.Tests;

/// <summary>
/// The MoESdk package packed from this repository into a local folder feed, once per test run, with a version of
/// its own (see <see cref="LocalFeed"/>). Consumer projects live beside the feed, under its NuGet.config.
/// </summary>
public sealed class PackedSdk : IDisposable
{
    private readonly LocalFeed _feed = new("moesdk-build-tests-", Path.Combine("msbuild", "MoESdk.Package", "MoESdk.Package.csproj"));

    /// <summary>Temporary folder holding the feed and the consumer projects.</summary>
    public string Root => _feed.Root;

    public string Feed => _feed.Folder;

    public string Version => _feed.Version;

    /// <summary>The packed MoESdk.VERSION.nupkg.</summary>
    public string PackagePath => _feed.PackagePath("MoESdk");

    /// <summary>Its symbols package, MoESdk.VERSION.snupkg, packed beside it.</summary>
    public string SymbolsPackagePath => Path.ChangeExtension(PackagePath, ".snupkg");

    /// <summary>Removes the consumers, the feed and this run's copy of the package in the global package folder.</summary>
    public void Dispose() => _feed.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ConsumerBuilds : ICollectionFixture<PackedSdk>
{
    /// <summary>One collection: consumer builds run one at a time and share one packed package.</summary>
    public const string Name = "consumer builds";
}
