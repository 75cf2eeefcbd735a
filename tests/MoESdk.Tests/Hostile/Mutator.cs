using System.Globalization;
using System.Text;

namespace MoESdk.Tests.Hostile;

/// <summary>Seeded random damage to files: the bit flips, cut ranges and extreme numbers that corrupt or hostile files hold.</summary>
internal sealed class Mutator(int seed)
{
    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "2", "3", "-0", "1.5", "1e308", "1e999", "-1e999", "2147483647", "2147483648", "-2147483648", "4294967296",
        "1073741824", "9223372036854775807", "9223372036854775808", "18446744073709551615", "100000000000000000000", "NaN", "null", "\"7\"",
    ];

    private static readonly byte[] Characters = Encoding.UTF8.GetBytes("{}[]\",:-.eE0123456789 \\\0\n/nultrfase").Append((byte)0xFF).Append((byte)0xC3).ToArray();

    private static readonly int[] Integers = [0, -1, 1, 2, 3, 7, 16, 64, 1 << 16, 1 << 30, int.MaxValue, int.MinValue, int.MinValue + 1, -(1 << 30)];

    public Random Random { get; } = new(seed);

    /// <summary>One to four random edits of JSON (or any) text.</summary>
    public byte[] Text(byte[] original)
    {
        var bytes = new List<byte>(original);
        for (int edits = 1 + Random.Next(4); edits > 0 && bytes.Count > 0; edits--)
        {
            int at = Random.Next(bytes.Count);
            switch (Random.Next(6))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << Random.Next(8));
                    break;
                case 1:
                    bytes[at] = Characters[Random.Next(Characters.Length)];
                    break;
                case 2:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + Random.Next(16)));
                    break;
                case 3:
                    bytes.InsertRange(Random.Next(bytes.Count), bytes.GetRange(at, Math.Min(bytes.Count - at, 1 + Random.Next(64))));
                    break;
                case 4:
                    ReplaceNumber(bytes, at);
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>A random one of the integers that break size arithmetic.</summary>
    public int Integer() => Random.Next(4) == 0 ? Random.Next(int.MinValue, int.MaxValue) : Integers[Random.Next(Integers.Length)];

    // The next run of digits (with its sign) after `at` becomes an extreme number.
    private void ReplaceNumber(List<byte> bytes, int at)
    {
        int start = bytes.FindIndex(at, b => b is >= (byte)'0' and <= (byte)'9');
        if (start < 0)
        {
            return;
        }
        int end = start;
        while (end < bytes.Count && bytes[end] is (>= (byte)'0' and <= (byte)'9') or (byte)'.' or (byte)'e' or (byte)'-')
        {
            end++;
        }
        if (start > 0 && bytes[start - 1] == (byte)'-')
        {
            start--;
        }
        bytes.RemoveRange(start, end - start);
        bytes.InsertRange(start, Encoding.UTF8.GetBytes(Numbers[Random.Next(Numbers.Length)].ToString(CultureInfo.InvariantCulture)));
    }
}
