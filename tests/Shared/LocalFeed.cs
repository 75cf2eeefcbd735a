namespace MoESdk.Testing;

/// <summary>
/// Packages packed from this repository into a local folder feed under a temporary root, with a version of their own
/// (0.1.0-test.TIMESTAMP) so a package cached by an earlier run is never used. The root holds a NuGet.config naming the
/// feed first, then this machine's configured package sources, so projects created under it restore from both.
/// </summary>
public sealed class LocalFeed : IDisposable
{
    /// <param name="prefix">Start of the temporary root's name.</param>
    /// <param name="projects">Project files to pack, relative to the repository root.</param>
    public LocalFeed(string prefix, params string[] projects)
    {
        Root = Directory.CreateTempSubdirectory(prefix).FullName;
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        try
        {
            using (PackLock())
            {
                foreach (string project in projects)
                {
                    DotNetResult pack = DotNet.Run(Repository.Root, "pack", project, "-c", "Release", "-o", Folder, $"-p:Version={Version}");
                    if (pack.ExitCode != 0)
                    {
                        throw new InvalidOperationException($"dotnet pack {project} failed:{Environment.NewLine}{pack.Output}");
                    }
                }
            }
            WriteNuGetConfig();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Temporary folder holding the feed, its NuGet.config and whatever the tests create.</summary>
    public string Root { get; }

    public string Folder => Path.Combine(Root, "feed");

    public string Version { get; }

    /// <summary>The package file of <paramref name="packageId"/> in the feed.</summary>
    public string PackagePath(string packageId) => Path.Combine(Folder, $"{packageId}.{Version}.nupkg");

    /// <summary>Removes the root and this run's copies of the packages in the global package folder.</summary>
    public void Dispose()
    {
        string[] packageIds = Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, $"*.{Version}.nupkg").Select(p => Path.GetFileName(p)[..^$".{Version}.nupkg".Length]).ToArray()
            : [];
        Directory.Delete(Root, recursive: true);
        DotNetResult locals = DotNet.Run(Path.GetTempPath(), "nuget", "locals", "global-packages", "--list");
        // "global-packages: /path/to/packages/"
        string? packages = locals.Output.Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith("global-packages:", StringComparison.Ordinal))?["global-packages:".Length..].Trim();
        if (packages is null)
        {
            return;
        }
        foreach (string packageId in packageIds)
        {
            string cached = Path.Combine(packages, packageId.ToLowerInvariant(), Version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    /// <summary>
    /// Test assemblies run in parallel (dotnet test on the solution), and packing builds the same projects into the
    /// same obj/ folders of this repository: one pack at a time, across processes, through an exclusive lock on a file
    /// named after the repository.
    /// </summary>
    private static FileStream PackLock()
    {
        string name = $"moesdk-pack-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Repository.Root)))[..16]}.lock";
        string path = Path.Combine(Path.GetTempPath(), name);
        DateTime deadline = DateTime.UtcNow.AddMinutes(15);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>The sources this machine restores from (its own NuGet configuration), after the local feed.</summary>
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
                <add key="moesdk-under-test" value="{Folder}" />
            {entries}
              </packageSources>
            </configuration>
            """);
    }
}
