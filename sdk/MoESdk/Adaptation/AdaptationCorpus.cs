using System.Security.Cryptography;
using System.Text;
using MoESdk.Artifacts;

namespace MoESdk.Adaptation;

/// <summary>A domain corpus: its text and the identity recorded in the adapted artifact (SHA-256 and size of its bytes).</summary>
public sealed record AdaptationCorpus(string Name, string Text, string Sha256, long Bytes)
{
    /// <summary>Reads a UTF-8 text file; the hash is of the file's bytes as stored.</summary>
    public static AdaptationCorpus FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Domain text '{path}' does not exist.", path);
        }
        byte[] bytes = File.ReadAllBytes(path);
        return new AdaptationCorpus(Path.GetFileName(path), new UTF8Encoding(false).GetString(bytes).TrimStart('\uFEFF'),
            Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.LongLength);
    }

    /// <summary>A corpus given as text; the hash is of its UTF-8 encoding.</summary>
    public static AdaptationCorpus FromText(string name, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return new AdaptationCorpus(name, text, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.LongLength);
    }

    /// <summary>The manifest's description of this corpus, once tokenized to <paramref name="tokens"/> tokens.</summary>
    public AdaptationData Describe(long tokens) => new(Name, Sha256, Bytes, tokens);
}
