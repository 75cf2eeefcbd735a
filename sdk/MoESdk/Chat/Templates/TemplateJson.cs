using System.Globalization;
using System.Text;

namespace MoESdk.Chat.Templates;

/// <summary>
/// The <c>tojson</c> filter as transformers defines it for chat templates: Python's
/// <c>json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)</c> — no HTML
/// escaping, non-ASCII kept, <c>", "</c> and <c>": "</c> between items unless indented.
/// </summary>
internal static class TemplateJson
{
    public static string Serialize(object? value, object? indent, bool ensureAscii, object? separators, bool sortKeys)
    {
        string? indentation = indent switch
        {
            null => null,
            string s => s,
            _ => new string(' ', (int)TemplateValues.ToLong(indent)),
        };
        string itemSeparator = indentation is null ? ", " : ",";
        string keySeparator = ": ";
        if (separators is IReadOnlyList<object?> { Count: 2 } pair)
        {
            itemSeparator = TemplateValues.ToText(pair[0]);
            keySeparator = TemplateValues.ToText(pair[1]);
        }
        var json = new StringBuilder();
        Write(json, value, new Format(indentation, itemSeparator, keySeparator, ensureAscii, sortKeys), 0);
        return json.ToString();
    }

    private sealed record Format(string? Indentation, string ItemSeparator, string KeySeparator, bool EnsureAscii, bool SortKeys);

    private static void Write(StringBuilder json, object? value, Format format, int depth)
    {
        switch (value)
        {
            case null or Undefined:
                json.Append("null");
                break;
            case bool b:
                json.Append(b ? "true" : "false");
                break;
            case long l:
                json.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                json.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : TemplateValues.FormatDouble(d));
                break;
            case string s:
                WriteString(json, s, format.EnsureAscii);
                break;
            case IReadOnlyList<object?> list:
                WriteContainer(json, '[', ']', list.Select(item => (Action)(() => Write(json, item, format, depth + 1))).ToList(), format, depth);
                break;
            case OrderedDictionary<string, object?> map:
                WriteMapping(json, map, format, depth);
                break;
            case TemplateNamespace ns:
                WriteMapping(json, ns.Attributes, format, depth);
                break;
            default:
                throw new RenderProblem($"{TemplateValues.TypeName(value)} is not JSON serializable.");
        }
    }

    private static void WriteMapping(StringBuilder json, OrderedDictionary<string, object?> map, Format format, int depth)
    {
        IEnumerable<KeyValuePair<string, object?>> entries = format.SortKeys ? map.OrderBy(p => p.Key, StringComparer.Ordinal) : map;
        WriteContainer(json, '{', '}', entries.Select(p => (Action)(() =>
        {
            WriteString(json, p.Key, format.EnsureAscii);
            json.Append(format.KeySeparator);
            Write(json, p.Value, format, depth + 1);
        })).ToList(), format, depth);
    }

    private static void WriteContainer(StringBuilder json, char open, char close, List<Action> items, Format format, int depth)
    {
        json.Append(open);
        if (items.Count == 0)
        {
            json.Append(close);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                json.Append(format.ItemSeparator);
            }
            if (format.Indentation is not null)
            {
                json.Append('\n').Insert(json.Length, format.Indentation, depth + 1);
            }
            items[i]();
        }
        if (format.Indentation is not null)
        {
            json.Append('\n').Insert(json.Length, format.Indentation, depth);
        }
        json.Append(close);
    }

    private static void WriteString(StringBuilder json, string s, bool ensureAscii)
    {
        json.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                default:
                    if (c < ' ' || (ensureAscii && c > '~'))
                    {
                        json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        json.Append(c);
                    }
                    break;
            }
        }
        json.Append('"');
    }
}
