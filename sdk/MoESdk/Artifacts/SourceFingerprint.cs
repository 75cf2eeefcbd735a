using System.Security.Cryptography;

namespace MoESdk.Artifacts;

/// <summary>SHA-256 over a model's files (weights and config), in name order, so one hash names one exact source.</summary>
internal static class SourceFingerprint
{
    private static readonly string[] Patterns = ["*.safetensors", "*.safetensors.index.json", "config.json", "*.bin"];

    public static string Compute(string path)
    {
        string[] files = Directory.Exists(path)
            ? Patterns.SelectMany(p => Directory.GetFiles(path, p)).Distinct().Order(StringComparer.Ordinal).ToArray()
            : [path];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (string file in files)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\0"));
            using FileStream stream = File.OpenRead(file);
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
