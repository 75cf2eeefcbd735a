using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MoESdk.Generators.Json;

/// <summary>
/// A small strict JSON parser (RFC 8259) for manifests. The generator runs inside the compiler on netstandard2.0,
/// where shipping System.Text.Json beside an analyzer conflicts with the compiler's own copy; manifests are small,
/// so a recursive-descent parser over the whole text is enough.
/// </summary>
internal sealed class JsonParser
{
    // Manifests nest three levels; the limit only stops a hostile file from overflowing the compiler's stack.
    private const int MaxDepth = 64;

    private readonly string text;
    private int position;

    private JsonParser(string text) => this.text = text;

    /// <summary>Parses one JSON document.</summary>
    /// <exception cref="JsonParseException">The text is not valid JSON.</exception>
    public static JsonValue Parse(string text)
    {
        var parser = new JsonParser(text);
        parser.SkipWhitespace();
        var value = parser.ReadValue(0);
        parser.SkipWhitespace();
        if (parser.position < text.Length)
        {
            throw parser.Error("unexpected text after the end of the document");
        }

        return value;
    }

    private JsonValue ReadValue(int depth)
    {
        if (depth > MaxDepth)
        {
            throw Error($"nesting deeper than {MaxDepth} levels");
        }

        if (position >= text.Length)
        {
            throw Error("unexpected end of the document");
        }

        return text[position] switch
        {
            '{' => ReadObject(depth),
            '[' => ReadArray(depth),
            '"' => new JsonString(position, ReadString()),
            't' => ReadLiteral("true"),
            'f' => ReadLiteral("false"),
            'n' => ReadLiteral("null"),
            _ when text[position] == '-' || IsDigit(text[position]) => ReadNumber(),
            _ => throw Error($"unexpected character '{text[position]}'"),
        };
    }

    private JsonObject ReadObject(int depth)
    {
        var start = position++;
        var members = new Dictionary<string, JsonValue>(StringComparer.Ordinal);
        SkipWhitespace();
        if (TryConsume('}'))
        {
            return new JsonObject(start, members);
        }

        while (true)
        {
            SkipWhitespace();
            if (position >= text.Length || text[position] != '"')
            {
                throw Error("expected a property name in double quotes");
            }

            var name = ReadString();
            SkipWhitespace();
            Expect(':');
            SkipWhitespace();
            members[name] = ReadValue(depth + 1);
            SkipWhitespace();
            if (TryConsume('}'))
            {
                return new JsonObject(start, members);
            }

            Expect(',');
        }
    }

    private JsonArray ReadArray(int depth)
    {
        var start = position++;
        var items = new List<JsonValue>();
        SkipWhitespace();
        if (TryConsume(']'))
        {
            return new JsonArray(start, items);
        }

        while (true)
        {
            SkipWhitespace();
            items.Add(ReadValue(depth + 1));
            SkipWhitespace();
            if (TryConsume(']'))
            {
                return new JsonArray(start, items);
            }

            Expect(',');
        }
    }

    private string ReadString()
    {
        position++; // opening quote
        var builder = new StringBuilder();
        while (true)
        {
            if (position >= text.Length)
            {
                throw Error("unterminated string");
            }

            var c = text[position++];
            if (c == '"')
            {
                return builder.ToString();
            }

            if (c < ' ')
            {
                position--;
                throw Error("control character in a string");
            }

            builder.Append(c == '\\' ? ReadEscape() : c);
        }
    }

    private char ReadEscape()
    {
        if (position >= text.Length)
        {
            throw Error("unterminated string");
        }

        var c = text[position++];
        switch (c)
        {
            case '"': return '"';
            case '\\': return '\\';
            case '/': return '/';
            case 'b': return '\b';
            case 'f': return '\f';
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'u':
                if (position + 4 > text.Length ||
                    !int.TryParse(text.Substring(position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                {
                    throw Error("\\u must be followed by four hex digits");
                }

                position += 4;
                return (char)code;
            default:
                position--;
                throw Error($"invalid escape '\\{c}'");
        }
    }

    private JsonNumber ReadNumber()
    {
        var start = position;
        TryConsume('-');
        if (TryConsume('0'))
        {
            // A leading zero stands alone: 012 is not JSON.
        }
        else
        {
            ReadDigits();
        }

        if (TryConsume('.'))
        {
            ReadDigits();
        }

        if (position < text.Length && (text[position] == 'e' || text[position] == 'E'))
        {
            position++;
            if (!TryConsume('+'))
            {
                TryConsume('-');
            }

            ReadDigits();
        }

        return new JsonNumber(start, text.Substring(start, position - start));
    }

    private void ReadDigits()
    {
        if (position >= text.Length || !IsDigit(text[position]))
        {
            throw Error("expected a digit");
        }

        while (position < text.Length && IsDigit(text[position]))
        {
            position++;
        }
    }

    private JsonLiteral ReadLiteral(string literal)
    {
        if (string.CompareOrdinal(text, position, literal, 0, literal.Length) != 0)
        {
            throw Error($"unexpected character '{text[position]}'");
        }

        var start = position;
        position += literal.Length;
        return new JsonLiteral(start, literal);
    }

    private void SkipWhitespace()
    {
        while (position < text.Length && text[position] is ' ' or '\t' or '\n' or '\r')
        {
            position++;
        }
    }

    private bool TryConsume(char c)
    {
        if (position < text.Length && text[position] == c)
        {
            position++;
            return true;
        }

        return false;
    }

    private void Expect(char c)
    {
        if (!TryConsume(c))
        {
            throw Error(position < text.Length ? $"expected '{c}' but found '{text[position]}'" : $"expected '{c}' but the document ended");
        }
    }

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private JsonParseException Error(string message) => new(message, Math.Min(position, text.Length));
}

/// <summary>The text is not valid JSON; <see cref="Position"/> is where reading stopped.</summary>
internal sealed class JsonParseException : Exception
{
    public JsonParseException(string message, int position)
        : base(message) => Position = position;

    public int Position { get; }
}
