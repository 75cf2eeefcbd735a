using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MoESdk.Tokenization;

/// <summary>
/// A tokenizer.json regular expression that matches as the reference tokenizers' JavaScript engine does (a
/// Unicode-mode <c>RegExp</c>), on .NET's engine. Two differences are bridged: JavaScript's <c>\s</c>, <c>\d</c>
/// and <c>\w</c> are narrower or different sets, so they are rewritten as explicit classes; and JavaScript
/// matches code points while .NET matches UTF-16 units, so a character outside the Basic Multilingual Plane
/// (emoji, mathematical letters, rare CJK) is stood in for, while matching, by a BMP character of the same Unicode
/// category, and the matches are mapped back.
/// </summary>
internal sealed class JsCompatibleRegex
{
    // ECMAScript's WhiteSpace and LineTerminator characters; .NET's \s also has U+0085 and lacks U+FEFF.
    private const string Whitespace = @"\t\n\v\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";
    private const string Digits = "0-9";
    private const string WordCharacters = "A-Za-z0-9_";

    private static readonly char[] StandIns = FindStandIns();

    private readonly Regex _regex;

    private JsCompatibleRegex(Regex regex) => _regex = regex;

    /// <summary>Translates a pattern; throws <see cref="ArgumentException"/> when it is not a valid expression.</summary>
    public static JsCompatibleRegex Create(string pattern) =>
        new(new Regex(Translate(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled));

    /// <summary>A pattern that matches a literal string.</summary>
    public static JsCompatibleRegex Literal(string text) => new(new Regex(Regex.Escape(text), RegexOptions.CultureInvariant));

    /// <summary>The non-empty matches, as start and length in <paramref name="text"/>, left to right.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var matches = new List<(int, int)>();
        if (!HasSurrogates(text))
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                if (m.Length > 0)
                {
                    matches.Add((m.Index, m.Length));
                }
            }
            return matches;
        }

        // origin[i] is where stand-in character i starts in the text; origin[^1] is the text's length.
        var standIn = new StringBuilder(text.Length);
        var origin = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            origin.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                standIn.Append(StandIns[(int)category]);
                i++;
            }
            else
            {
                standIn.Append(text[i]);
            }
        }
        origin.Add(text.Length);
        for (var m = _regex.Match(standIn.ToString()); m.Success; m = m.NextMatch())
        {
            if (m.Length > 0)
            {
                var start = origin[m.Index];
                matches.Add((start, origin[m.Index + m.Length] - start));
            }
        }
        return matches;
    }

    /// <summary>Replaces every match, as JavaScript's <c>replaceAll</c> with a global pattern does.</summary>
    public string Replace(string text, string replacement)
    {
        var matches = Matches(text);
        if (matches.Count == 0)
        {
            return text;
        }
        var result = new StringBuilder(text.Length);
        var position = 0;
        foreach (var (start, length) in matches)
        {
            result.Append(text, position, start - position).Append(replacement);
            position = start + length;
        }
        return result.Append(text, position, text.Length - position).ToString();
    }

    private static bool HasSurrogates(string text) => text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>
    /// Rewrites the class escapes whose meaning differs between the engines, and the case-insensitive group of
    /// contractions that JavaScript cannot parse (replaced, as the reference does, by its case-spelled equivalent,
    /// so that .NET's wider case folding does not apply).
    /// </summary>
    internal static string Translate(string pattern)
    {
        pattern = pattern.Replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))", StringComparison.Ordinal);
        var result = new StringBuilder(pattern.Length + 64);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var escaped = pattern[i + 1];
                i++;
                var set = escaped switch { 's' or 'S' => Whitespace, 'd' or 'D' => Digits, 'w' or 'W' => WordCharacters, _ => null };
                if (set is null)
                {
                    result.Append(c).Append(escaped);
                }
                else if (!char.IsUpper(escaped))
                {
                    result.Append(inClass ? set : $"[{set}]");
                }
                else if (!inClass)
                {
                    result.Append($"[^{set}]");
                }
                else
                {
                    throw new ArgumentException($"a negated class escape (\\{escaped}) inside a character class is not supported");
                }
                continue;
            }
            if (c == '[' && !inClass)
            {
                inClass = true;
                result.Append(c);
                continue;
            }
            if (c == ']' && inClass)
            {
                inClass = false;
            }
            result.Append(c);
        }
        return result.ToString();
    }

    /// <summary>For each Unicode category, a character of the Basic Multilingual Plane in it, taken from the top of the plane, away from the ASCII and CJK ranges that patterns name.</summary>
    private static char[] FindStandIns()
    {
        var standIns = new char[32];
        var found = new bool[32];
        for (int c = 0xFFFF; c >= 0x80; c--)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }
            var category = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[category] && !char.IsWhiteSpace((char)c))
            {
                standIns[category] = (char)c;
                found[category] = true;
            }
        }
        return standIns;
    }
}
