using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoESdk.Chat.Templates;

/// <summary>
/// A name or member that has no value (Jinja's <c>Undefined</c>): prints as nothing, is false, iterates as empty and
/// has length 0; reading an attribute or item of it, calling it or doing arithmetic with it is an error that names it.
/// </summary>
internal sealed class Undefined(string description)
{
    /// <summary>What was looked up, for messages: <c>'x'</c>, <c>'dict object' has no attribute 'x'</c>…</summary>
    public string Description { get; } = description;

    public override string ToString() => "";
}

/// <summary>A <c>namespace(...)</c>: the one object whose attributes a template can assign, across loop scopes.</summary>
internal sealed class TemplateNamespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A callable value: a global function, a bound method, a macro or a macro's <c>caller</c>.</summary>
internal sealed class TemplateFunction(string name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?> invoke)
{
    public string Name { get; } = name;

    public object? Invoke(IReadOnlyList<object?> positional, IReadOnlyDictionary<string, object?> named) => invoke(positional, named);
}

/// <summary>
/// A rendering error without a position; the interpreter adds the template, line and column of the construct it
/// was evaluating.
/// </summary>
internal class RenderProblem(string message) : Exception(message);

/// <summary><c>raise_exception(message)</c>: the template refuses its input.</summary>
internal sealed class RaisedProblem(string message) : RenderProblem(message);

/// <summary>
/// The value model templates compute with, and Python's rules on it (as Jinja follows them): <see cref="string"/>,
/// <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, null (<c>none</c>), <see cref="Undefined"/>,
/// lists (<see cref="List{T}"/>), tuples (arrays), mappings (<see cref="OrderedDictionary{TKey, TValue}"/> keyed by
/// string), <see cref="TemplateNamespace"/> and <see cref="TemplateFunction"/>.
/// </summary>
internal static class TemplateValues
{
    /// <summary>Converts what a caller passes (CLR values, dictionaries, lists, JSON) into the template value model.</summary>
    public static object? FromClr(object? value) => value switch
    {
        null => null,
        string or bool or long or double or Undefined or TemplateNamespace or TemplateFunction => value,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        float f => (double)f,
        decimal d => (double)d,
        char c => c.ToString(),
        JsonElement element => FromJson(element),
        JsonNode node => FromJson(JsonSerializer.SerializeToElement(node)),
        IDictionary<string, object?> map => ToMapping(map),
        IReadOnlyDictionary<string, object?> map => ToMapping(map),
        IDictionary map => ToMapping(map.Keys.Cast<object>().Select(k => new KeyValuePair<string, object?>(Convert.ToString(k, CultureInfo.InvariantCulture) ?? "", map[k]))),
        IEnumerable list => list.Cast<object?>().Select(FromClr).ToList(),
        _ => throw new ArgumentException($"A template cannot use a value of type {value.GetType().Name}; pass strings, numbers, booleans, lists, dictionaries or JSON."),
    };

    private static OrderedDictionary<string, object?> ToMapping(IEnumerable<KeyValuePair<string, object?>> entries)
    {
        var mapping = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string key, object? value) in entries)
        {
            mapping[key] = FromClr(value);
        }
        return mapping;
    }

    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out long l) ? (object)l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => ToMapping(element.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, FromJson(p.Value)))),
        _ => null,
    };

    public static bool IsList(object? value) => value is List<object?> or object?[];

    public static IReadOnlyList<object?> AsList(object? value) => value as IReadOnlyList<object?> ?? [];

    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyList<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> map => map.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long or double or bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new RenderProblem($"{TypeName(value)} is not a number."),
    };

    public static long ToLong(object? value) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new RenderProblem($"expected an integer, got {TypeName(value)}."),
    };

    /// <summary>The type name Python would report, for messages.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined u => $"undefined ({u.Description})",
        string => "string",
        bool => "boolean",
        long => "integer",
        double => "float",
        object?[] => "tuple",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        TemplateNamespace => "namespace",
        TemplateFunction f => $"function '{f.Name}'",
        _ => value.GetType().Name,
    };

    /// <summary>Python's <c>str()</c>, as <c>{{ value }}</c> prints it.</summary>
    public static string ToText(object? value) => value switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        _ => Repr(value),
    };

    /// <summary>Python's <c>repr()</c>: strings quoted, containers with their items' reprs.</summary>
    public static string Repr(object? value)
    {
        switch (value)
        {
            case string s:
                return QuoteString(s);
            case object?[] tuple:
                return tuple.Length == 1 ? $"({Repr(tuple[0])},)" : "(" + string.Join(", ", tuple.Select(Repr)) + ")";
            case List<object?> list:
                return "[" + string.Join(", ", list.Select(Repr)) + "]";
            case OrderedDictionary<string, object?> map:
                return "{" + string.Join(", ", map.Select(p => QuoteString(p.Key) + ": " + Repr(p.Value))) + "}";
            case TemplateNamespace ns:
                return "<Namespace " + Repr(ToMappingCopy(ns)) + ">";
            case TemplateFunction f:
                return $"<function {f.Name}>";
            default:
                return ToText(value);
        }
    }

    private static OrderedDictionary<string, object?> ToMappingCopy(TemplateNamespace ns) => new(ns.Attributes, StringComparer.Ordinal);

    private static string QuoteString(string s)
    {
        char quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var text = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': text.Append(@"\\"); break;
                case '\n': text.Append(@"\n"); break;
                case '\r': text.Append(@"\r"); break;
                case '\t': text.Append(@"\t"); break;
                default:
                    if (c == quote)
                    {
                        text.Append('\\');
                    }
                    text.Append(c);
                    break;
            }
        }
        return text.Append(quote).ToString();
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, always with a point or exponent.</summary>
    public static string FormatDouble(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }
        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == Math.Floor(d) && Math.Abs(d) < 1e16)
        {
            return d.ToString("F1", CultureInfo.InvariantCulture);
        }
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }
        string mantissa = r[..e];
        int exponent = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>Python's <c>==</c>: numbers by value (booleans are 0 and 1), containers item by item.</summary>
    public static bool AreEqual(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        if (a is Undefined || b is Undefined)
        {
            return a is Undefined && b is Undefined;
        }
        if (IsNumber(a) && IsNumber(b))
        {
            return a is long or bool && b is long or bool ? ToLong(a) == ToLong(b) : ToDouble(a) == ToDouble(b);
        }
        if (a is string sa && b is string sb)
        {
            return string.Equals(sa, sb, StringComparison.Ordinal);
        }
        if (a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb)
        {
            return a.GetType() == b.GetType() && la.Count == lb.Count && la.Zip(lb).All(p => AreEqual(p.First, p.Second));
        }
        if (a is OrderedDictionary<string, object?> ma && b is OrderedDictionary<string, object?> mb)
        {
            return ma.Count == mb.Count && ma.All(p => mb.TryGetValue(p.Key, out object? v) && AreEqual(p.Value, v));
        }
        return ReferenceEquals(a, b);
    }

    /// <summary>Python's ordering: numbers, strings (by code point) and sequences; anything else is an error.</summary>
    public static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return a is long or bool && b is long or bool ? ToLong(a).CompareTo(ToLong(b)) : ToDouble(a).CompareTo(ToDouble(b));
        }
        if (a is string sa && b is string sb)
        {
            return CompareCodePoints(sa, sb);
        }
        if (a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb)
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                int c = Compare(la[i], lb[i]);
                if (c != 0)
                {
                    return c;
                }
            }
            return la.Count.CompareTo(lb.Count);
        }
        throw new RenderProblem($"cannot order {TypeName(a)} and {TypeName(b)}.");
    }

    private static int CompareCodePoints(string a, string b)
    {
        StringRuneEnumerator ra = a.EnumerateRunes();
        StringRuneEnumerator rb = b.EnumerateRunes();
        while (true)
        {
            bool hasA = ra.MoveNext();
            bool hasB = rb.MoveNext();
            if (!hasA || !hasB)
            {
                return hasA.CompareTo(hasB);
            }
            int c = ra.Current.Value.CompareTo(rb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }

    /// <summary>A string's characters as Python counts them: one per code point.</summary>
    public static List<string> CodePoints(string s)
    {
        var points = new List<string>(s.Length);
        foreach (Rune rune in s.EnumerateRunes())
        {
            points.Add(rune.ToString());
        }
        return points;
    }

    /// <summary>The items a <c>for</c> loop or a filter walks: a list's items, a mapping's keys, a string's characters.</summary>
    public static IReadOnlyList<object?> Iterate(object? value) => value switch
    {
        IReadOnlyList<object?> list => list,
        OrderedDictionary<string, object?> map => map.Keys.Cast<object?>().ToList(),
        string s => CodePoints(s).Cast<object?>().ToList(),
        Undefined => [],
        _ => throw new RenderProblem($"{TypeName(value)} is not iterable."),
    };

    /// <summary>Python's whitespace (<c>str.isspace</c>), which also counts the separators U+001C..U+001F.</summary>
    public static bool IsPythonWhitespace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';
}
