namespace MoESdk.Build.Tests;

/// <summary>
/// The MoESdk package packed from this repository into a local folder feed, once per test run, with a version of
/// its own (0.1.0-test.TIMESTAMP) so a package cached by an earlier run is never used. Consumer projects live
/// beside the feed with a NuGet.config naming it and this machine's configured package sources.
/// </summary>
public sealed class PackedSdk : IDisposable
{
    public PackedSdk()
    {
        Root = Directory.CreateTempSubdirectory("moesdk-build-tests-").FullName;
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        DotNetResult pack = DotNet.Run(TinyModel.RepositoryRoot,
            "pack", Path.Combine("msbuild", "MoESdk.Package", "MoESdk.Package.csproj"), "-c", "Release", "-o", Feed, $"-p:Version={Version}");
        if (pack.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack failed:{Environment.NewLine}{pack.Output}");
        }
        WriteNuGetConfig();
    }

    /// <summary>Temporary folder holding the feed and the consumer projects.</summary>
    public string Root { get; }

    public string Feed => Path.Combine(Root, "feed");

    public string Version { get; }

    /// <summary>Removes the consumers, the feed and this run's copy of the package in the global package folder.</summary>
    public void Dispose()
    {
        Directory.Delete(Root, recursive: true);
        DotNetResult locals = DotNet.Run(Path.GetTempPath(), "nuget", "locals", "global-packages", "--list");
        // "global-packages: /path/to/packages/"
        string? packages = locals.Output.Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith("global-packages:", StringComparison.Ordinal))?["global-packages:".Length..].Trim();
        string cached = Path.Combine(packages ?? "", "moesdk", Version);
        if (packages is not null && Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }
    }

    /// <summary>The sources this machine restores from (its own NuGet configuration), then the local feed.</summary>
    private void WriteNuGetConfig()
    {
        DotNetResult sources = DotNet.Run(Root, "nuget", "list", "source", "--format", "short");
        if (sources.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet nuget list source failed:{Environment.NewLine}{sources.Output}");
        }
        // Short format: one "E <url>" line per enabled source ("D" for disabled ones).
        IEnumerable<string> machineSources = sources.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
            .Select(line => line[2..].Trim());
        string entries = string.Join(Environment.NewLine, machineSources.Select((url, i) => $"""    <add key="source{i}" value="{url}" />"""));
        File.WriteAllText(Path.Combine(Root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="moesdk-under-test" value="{Feed}" />
            {entries}
              </packageSources>
            </configuration>
            """);
    }
}

[CollectionDefinition(Name)]
public sealed class ConsumerBuilds : ICollectionFixture<PackedSdk>
{
    /// <summary>One collection: consumer builds run one at a time and share one packed package.</summary>
    public const string Name = "consumer builds";
}
