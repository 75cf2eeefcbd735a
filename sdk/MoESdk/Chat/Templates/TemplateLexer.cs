using System.Globalization;
using System.Text;

namespace MoESdk.Chat.Templates;

internal enum TokenKind
{
    Text,
    BlockStart,
    BlockEnd,
    VariableStart,
    VariableEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

/// <summary>One token; <see cref="Offset"/> is its position in the original template source.</summary>
internal readonly record struct TemplateToken(TokenKind Kind, string Text, int Offset);

/// <summary>
/// Splits a template into text and tag tokens the way Hugging Face renders chat templates: Jinja with
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> on, the final newline dropped, and the <c>-</c> markers
/// (<c>{%-</c>, <c>-%}</c>, <c>{{-</c>, <c>-}}</c>, <c>{#-</c>, <c>-#}</c>) stripping whitespace next to a tag.
/// </summary>
internal sealed class TemplateLexer
{
    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    private readonly TemplateSource _source;
    private readonly string _text;
    private readonly int[] _origin;
    private readonly List<TemplateToken> _tokens = [];
    private int _position;

    private TemplateLexer(TemplateSource source)
    {
        _source = source;
        (_text, _origin) = Preprocess(source.Text);
    }

    public static List<TemplateToken> Tokenize(TemplateSource source)
    {
        var lexer = new TemplateLexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>
    /// The whitespace settings applied to the source before tokenizing, as Hugging Face applies them: the final
    /// newline goes; spaces and tabs from the start of a line to a block or comment tag go (<c>lstrip_blocks</c>);
    /// the newline right after a block or comment tag goes (<c>trim_blocks</c>). Returns the text and, per
    /// character, its offset in the original source (for error positions).
    /// </summary>
    private static (string Text, int[] Origin) Preprocess(string source)
    {
        int length = source.EndsWith('\n') ? source.Length - 1 : source.Length;
        var stripped = new StringBuilder(length);
        var origin = new List<int>(length + 1);
        bool lineStart = true;
        for (int i = 0; i < length;)
        {
            if (lineStart)
            {
                int j = i;
                while (j < length && source[j] is ' ' or '\t')
                {
                    j++;
                }
                if (j > i && j + 1 < length && source[j] == '{' && source[j + 1] is '#' or '%' or '-')
                {
                    i = j;
                }
            }
            char c = source[i];
            stripped.Append(c);
            origin.Add(i);
            lineStart = c is '\n' or '\r' or '\u2028' or '\u2029';
            i++;
        }
        // trim_blocks runs on the lstripped text, as a second pass.
        var trimmed = new StringBuilder(stripped.Length);
        var trimmedOrigin = new List<int>(stripped.Length + 1);
        for (int i = 0; i < stripped.Length; i++)
        {
            trimmed.Append(stripped[i]);
            trimmedOrigin.Add(origin[i]);
            if (stripped[i] == '}' && i > 0 && stripped[i - 1] is '#' or '%' or '-' && i + 1 < stripped.Length && stripped[i + 1] == '\n')
            {
                i++;
            }
        }
        trimmedOrigin.Add(length);
        return (trimmed.ToString(), trimmedOrigin.ToArray());
    }

    private void Run()
    {
        while (_position < _text.Length)
        {
            int start = _position;
            while (_position < _text.Length && !AtTagStart())
            {
                _position++;
            }
            if (_position > start)
            {
                Add(TokenKind.Text, _text[start.._position], start);
            }
            if (_position >= _text.Length)
            {
                break;
            }
            char kind = _text[_position + 1];
            bool stripBefore = _position + 2 < _text.Length && _text[_position + 2] == '-';
            int tagStart = _position;
            _position += stripBefore ? 3 : 2;
            if (stripBefore)
            {
                StripTrailingWhitespace();
            }
            if (kind == '#')
            {
                int close = _text.IndexOf("#}", _position, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw Error(tagStart, "the comment '{#' is never closed with '#}'.");
                }
                bool stripAfter = close > _position && _text[close - 1] == '-';
                _position = close + 2;
                if (stripAfter)
                {
                    SkipWhitespace();
                }
                continue;
            }
            if (kind == '%' && TryRaw(tagStart))
            {
                continue;
            }
            Add(kind == '%' ? TokenKind.BlockStart : TokenKind.VariableStart, kind == '%' ? "{%" : "{{", tagStart);
            LexTag(kind == '%' ? '%' : '}', tagStart);
        }
        Add(TokenKind.End, "", _text.Length);
    }

    private bool AtTagStart() =>
        _text[_position] == '{' && _position + 1 < _text.Length && _text[_position + 1] is '%' or '{' or '#';

    /// <summary><c>{% raw %}…{% endraw %}</c>: the body is text, tags and all.</summary>
    private bool TryRaw(int tagStart)
    {
        int p = _position;
        while (p < _text.Length && char.IsWhiteSpace(_text[p]))
        {
            p++;
        }
        if (string.CompareOrdinal(_text, p, "raw", 0, 3) != 0 || (p + 3 < _text.Length && (char.IsLetterOrDigit(_text[p + 3]) || _text[p + 3] == '_')))
        {
            return false;
        }
        int close = _text.IndexOf("%}", p, StringComparison.Ordinal);
        if (close < 0)
        {
            throw Error(tagStart, "the tag '{% raw' is never closed with '%}'.");
        }
        bool stripAfter = _text[close - 1] == '-';
        int bodyStart = close + 2;
        if (stripAfter)
        {
            while (bodyStart < _text.Length && char.IsWhiteSpace(_text[bodyStart]))
            {
                bodyStart++;
            }
        }
        var end = System.Text.RegularExpressions.Regex.Match(_text[bodyStart..], @"\{%(-?)\s*endraw\s*(-?)%\}");
        if (!end.Success)
        {
            throw Error(tagStart, "'{% raw %}' has no '{% endraw %}'.");
        }
        string body = _text.Substring(bodyStart, end.Index);
        if (end.Groups[1].Value == "-")
        {
            body = body.TrimEnd();
        }
        if (body.Length > 0)
        {
            Add(TokenKind.Text, body, bodyStart);
        }
        _position = bodyStart + end.Index + end.Length;
        if (end.Groups[2].Value == "-")
        {
            SkipWhitespace();
        }
        return true;
    }

    private void LexTag(char closer, int tagStart)
    {
        int curlyDepth = 0;
        while (true)
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
            {
                _position++;
            }
            if (_position >= _text.Length)
            {
                throw Error(tagStart, closer == '%' ? "the tag '{%' is never closed with '%}'." : "the expression '{{' is never closed with '}}'.");
            }
            if (EndsTag(closer, curlyDepth, out bool stripAfter))
            {
                int at = _position;
                _position += stripAfter ? 3 : 2;
                Add(closer == '%' ? TokenKind.BlockEnd : TokenKind.VariableEnd, closer == '%' ? "%}" : "}}", at);
                if (stripAfter)
                {
                    SkipWhitespace();
                }
                return;
            }
            char c = _text[_position];
            int start = _position;
            if (c is '\'' or '"')
            {
                Add(TokenKind.String, ReadString(c), start);
            }
            else if (char.IsAsciiDigit(c))
            {
                while (_position < _text.Length && char.IsAsciiDigit(_text[_position]))
                {
                    _position++;
                }
                bool isFloat = _position + 1 < _text.Length && _text[_position] == '.' && char.IsAsciiDigit(_text[_position + 1]) && LastKindIsNotDot();
                if (isFloat)
                {
                    _position++;
                    while (_position < _text.Length && char.IsAsciiDigit(_text[_position]))
                    {
                        _position++;
                    }
                }
                Add(isFloat ? TokenKind.Float : TokenKind.Integer, _text[start.._position], start);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (_position < _text.Length && (char.IsLetterOrDigit(_text[_position]) || _text[_position] == '_'))
                {
                    _position++;
                }
                Add(TokenKind.Name, _text[start.._position], start);
            }
            else
            {
                string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(_text, _position, o, 0, o.Length) == 0);
                if (op is null)
                {
                    throw Error(start, $"unexpected character '{c}' inside a tag.");
                }
                curlyDepth += op == "{" ? 1 : op == "}" ? -1 : 0;
                _position += op.Length;
                Add(TokenKind.Operator, op, start);
            }
        }
    }

    private bool LastKindIsNotDot() => _tokens.Count == 0 || _tokens[^1] is not { Kind: TokenKind.Operator, Text: "." };

    private bool EndsTag(char closer, int curlyDepth, out bool stripAfter)
    {
        stripAfter = false;
        if (closer == '}' && curlyDepth > 0)
        {
            return false;
        }
        string end = closer == '%' ? "%}" : "}}";
        if (string.CompareOrdinal(_text, _position, "-" + end, 0, 3) == 0)
        {
            stripAfter = true;
            return true;
        }
        return string.CompareOrdinal(_text, _position, end, 0, 2) == 0;
    }

    private string ReadString(char quote)
    {
        int start = _position;
        _position++;
        var value = new StringBuilder();
        while (true)
        {
            if (_position >= _text.Length)
            {
                throw Error(start, "a string literal is never closed.");
            }
            char c = _text[_position++];
            if (c == quote)
            {
                return value.ToString();
            }
            if (c != '\\' || _position >= _text.Length)
            {
                value.Append(c);
                continue;
            }
            char e = _text[_position++];
            switch (e)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'v': value.Append('\v'); break;
                case '0': value.Append('\0'); break;
                case '\\' or '\'' or '"': value.Append(e); break;
                case 'x' or 'u' or 'U':
                    int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (_position + digits > _text.Length ||
                        !int.TryParse(_text.AsSpan(_position, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                    {
                        throw Error(_position - 2, $"invalid escape '\\{e}' in a string literal.");
                    }
                    value.Append(char.ConvertFromUtf32(code));
                    _position += digits;
                    break;
                default:
                    // Python keeps an unknown escape as written.
                    value.Append('\\').Append(e);
                    break;
            }
        }
    }

    /// <summary><c>{%-</c>: the text before the tag loses its trailing whitespace (and goes if nothing is left).</summary>
    private void StripTrailingWhitespace()
    {
        if (_tokens.Count > 0 && _tokens[^1].Kind == TokenKind.Text)
        {
            TemplateToken last = _tokens[^1];
            string trimmed = last.Text.TrimEnd();
            _tokens.RemoveAt(_tokens.Count - 1);
            if (trimmed.Length > 0)
            {
                _tokens.Add(last with { Text = trimmed });
            }
        }
    }

    private void SkipWhitespace()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
        {
            _position++;
        }
    }

    private void Add(TokenKind kind, string text, int position) => _tokens.Add(new TemplateToken(kind, text, _origin[position]));

    private TemplateException Error(int position, string problem)
    {
        (int line, int column) = _source.Position(_origin[Math.Min(position, _origin.Length - 1)]);
        return new TemplateException(_source.Name, line, column, problem);
    }
}

/// <summary>A template's name and text; turns offsets into line and column for messages.</summary>
internal sealed class TemplateSource(string name, string text)
{
    public string Name { get; } = name;

    public string Text { get; } = text;

    public (int Line, int Column) Position(int offset)
    {
        offset = Math.Clamp(offset, 0, Text.Length);
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (Text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, offset - lineStart + 1);
    }

    public TemplateException Error(int offset, string problem)
    {
        (int line, int column) = Position(offset);
        return new TemplateException(Name, line, column, problem);
    }
}
