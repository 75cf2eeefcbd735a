using System.Text;

namespace MoESdk.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map: byte-level BPE vocabularies store every byte as a printable
/// character (space → 'Ġ', newline → 'Ċ') so that tokens are plain strings in vocab.json and merges.txt.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] CharOfByte = BuildMap();
    private static readonly Dictionary<char, byte> ByteOfChar = Enumerable.Range(0, 256).ToDictionary(b => CharOfByte[b], b => (byte)b);

    public static char ToChar(byte value) => CharOfByte[value];

    /// <summary>The byte a character of the alphabet stands for; false for characters outside it.</summary>
    public static bool TryToByte(char c, out byte value) => ByteOfChar.TryGetValue(c, out value);

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length);
        foreach (var value in bytes)
        {
            builder.Append(CharOfByte[value]);
        }
        return builder.ToString();
    }

    private static char[] BuildMap()
    {
        // Printable Latin-1 bytes stand for themselves; the rest are shifted to U+0100 and above, in order.
        var map = new char[256];
        var shifted = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return map;
    }
}
