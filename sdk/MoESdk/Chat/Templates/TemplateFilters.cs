using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MoESdk.Chat.Templates;

/// <summary>Jinja's filters (<c>value | name(args)</c>) that chat templates use, with Jinja's and transformers' semantics.</summary>
internal static partial class TemplateFilters
{
    public static object? Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> named)
    {
        object? Arg(int index, string key, object? fallback) =>
            index < args.Count ? args[index] : named.TryGetValue(key, out object? v) ? v : fallback;

        switch (name)
        {
            case "safe":
                return value;
            case "default" or "d":
                bool boolean = TemplateValues.IsTruthy(Arg(1, "boolean", false));
                return value is Undefined || (boolean && !TemplateValues.IsTruthy(value)) ? Arg(0, "default_value", "") : value;
            case "length" or "count":
                return value switch
                {
                    string s => (long)TemplateValues.CodePoints(s).Count,
                    IReadOnlyList<object?> list => (long)list.Count,
                    OrderedDictionary<string, object?> map => (long)map.Count,
                    TemplateNamespace ns => (long)ns.Attributes.Count,
                    Undefined => 0L,
                    _ => throw new RenderProblem($"{TemplateValues.TypeName(value)} has no length."),
                };
            case "string":
                return TemplateValues.ToText(value);
            case "trim":
                return TemplateMembers.Strip(Text(value), Arg(0, "chars", null) as string, start: true, end: true);
            case "upper":
                return Text(value).ToUpperInvariant();
            case "lower":
                return Text(value).ToLowerInvariant();
            case "capitalize":
                return TemplateMembers.Capitalize(Text(value));
            case "title":
                return Title(Text(value));
            case "replace":
                return TemplateMembers.Replace(Text(value), args, named);
            case "tojson":
                return TemplateJson.Serialize(value, Arg(0, "indent", null), TemplateValues.IsTruthy(Arg(1, "ensure_ascii", false)),
                    Arg(2, "separators", null), TemplateValues.IsTruthy(Arg(3, "sort_keys", false)));
            case "join":
                object? attribute = Arg(1, "attribute", null);
                IEnumerable<object?> joined = TemplateValues.Iterate(value);
                if (attribute is not null)
                {
                    joined = joined.Select(item => Attribute(item, attribute));
                }
                return string.Join(TemplateValues.ToText(Arg(0, "d", "")), joined.Select(TemplateValues.ToText));
            case "first":
                IReadOnlyList<object?> forFirst = TemplateValues.Iterate(value);
                return forFirst.Count > 0 ? forFirst[0] : new Undefined("the first item of an empty sequence");
            case "last":
                IReadOnlyList<object?> forLast = TemplateValues.Iterate(value);
                return forLast.Count > 0 ? forLast[^1] : new Undefined("the last item of an empty sequence");
            case "list":
                return TemplateValues.Iterate(value).ToList();
            case "reverse":
                return value is string text ? string.Concat(TemplateValues.CodePoints(text).AsEnumerable().Reverse()) : TemplateValues.Iterate(value).Reverse().ToList();
            case "items":
                return value switch
                {
                    OrderedDictionary<string, object?> map => map.Select(p => (object?)new object?[] { p.Key, p.Value }).ToList(),
                    Undefined => new List<object?>(),
                    _ => throw new RenderProblem($"{TemplateValues.TypeName(value)} is not a mapping."),
                };
            case "dictsort":
                return DictSort(value, TemplateValues.IsTruthy(Arg(0, "case_sensitive", false)), Arg(1, "by", "key") as string ?? "key",
                    TemplateValues.IsTruthy(Arg(2, "reverse", false)));
            case "sort":
                return Sort(value, TemplateValues.IsTruthy(Arg(0, "reverse", false)), TemplateValues.IsTruthy(Arg(1, "case_sensitive", false)), Arg(2, "attribute", null));
            case "unique":
                var unique = new List<object?>();
                foreach (object? item in TemplateValues.Iterate(value))
                {
                    if (!unique.Any(u => TemplateValues.AreEqual(SortKey(u, false), SortKey(item, false))))
                    {
                        unique.Add(item);
                    }
                }
                return unique;
            case "map":
                return Map(value, args, named);
            case "select" or "reject":
                return TemplateValues.Iterate(value)
                    .Where(item => (args.Count == 0 ? TemplateValues.IsTruthy(item) : TemplatePredicates.Apply(Text(args[0]), item, args.Skip(1).ToList())) == (name == "select"))
                    .ToList();
            case "selectattr" or "rejectattr":
                if (args.Count == 0)
                {
                    throw new RenderProblem("needs the attribute to test.");
                }
                return TemplateValues.Iterate(value)
                    .Where(item =>
                    {
                        object? member = Attribute(item, args[0]);
                        bool passed = args.Count == 1 ? TemplateValues.IsTruthy(member) : TemplatePredicates.Apply(Text(args[1]), member, args.Skip(2).ToList());
                        return passed == (name == "selectattr");
                    })
                    .ToList();
            case "int":
                return ToInt(value, Arg(0, "default", 0L));
            case "float":
                return ToFloat(value, Arg(0, "default", 0.0));
            case "abs":
                return value is long l ? (object)Math.Abs(l) : Math.Abs(TemplateValues.ToDouble(value));
            case "round":
                double rounded = Math.Round(TemplateValues.ToDouble(value), (int)TemplateValues.ToLong(Arg(0, "precision", 0L)), MidpointRounding.ToEven);
                return rounded;
            case "min" or "max":
                IReadOnlyList<object?> values = TemplateValues.Iterate(value);
                if (values.Count == 0)
                {
                    return new Undefined($"the {name} of an empty sequence");
                }
                return values.Aggregate((a, b) => (TemplateValues.Compare(a, b) <= 0) == (name == "min") ? a : b);
            case "sum":
                return TemplateValues.Iterate(value).Aggregate(Arg(1, "start", 0L), (total, item) => TemplateArithmetic.Apply("+", total, item));
            case "indent":
                return Indent(Text(value), Arg(0, "width", 4L), TemplateValues.IsTruthy(Arg(1, "first", false)), TemplateValues.IsTruthy(Arg(2, "blank", false)));
            case "wordcount":
                return (long)TemplateMembers.Split(Text(value), null, null).Count;
            default:
                throw new RenderProblem($"unknown filter '{name}'.");
        }
    }

    private static string Text(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => TemplateValues.ToText(value),
    };

    /// <summary>An item's attribute by a dotted path (<c>"function.name"</c>), as <c>map</c> and <c>selectattr</c> take it.</summary>
    private static object? Attribute(object? item, object? path)
    {
        object? current = item;
        foreach (string part in TemplateValues.ToText(path).Split('.'))
        {
            if (current is Undefined)
            {
                return current;
            }
            object key = long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out long index) ? index : part;
            current = TemplateMembers.GetItem(current, key);
        }
        return current;
    }

    private static List<object?> Map(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> named)
    {
        IReadOnlyList<object?> items = TemplateValues.Iterate(value);
        if (named.TryGetValue("attribute", out object? attribute))
        {
            named.TryGetValue("default", out object? fallback);
            return items.Select(item =>
            {
                object? member = Attribute(item, attribute);
                return member is Undefined && named.ContainsKey("default") ? fallback : member;
            }).ToList();
        }
        if (args.Count == 0)
        {
            throw new RenderProblem("map needs a filter name or attribute=….");
        }
        string filter = Text(args[0]);
        var rest = args.Skip(1).ToList();
        return items.Select(item => Apply(filter, item, rest, named)).ToList();
    }

    private static object? SortKey(object? value, bool caseSensitive) =>
        !caseSensitive && value is string s ? s.ToLowerInvariant() : value;

    private static List<object?> DictSort(object? value, bool caseSensitive, string by, bool reverse)
    {
        if (value is not OrderedDictionary<string, object?> map)
        {
            throw new RenderProblem($"{TemplateValues.TypeName(value)} is not a mapping.");
        }
        int position = by switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new RenderProblem("'by' must be 'key' or 'value'."),
        };
        var pairs = map.Select(p => new object?[] { p.Key, p.Value }).ToList();
        List<object?[]> sorted = [.. pairs.OrderBy(p => SortKey(p[position], caseSensitive), Comparer<object?>.Create(TemplateValues.Compare))];
        if (reverse)
        {
            sorted.Reverse();
        }
        return sorted.Cast<object?>().ToList();
    }

    private static List<object?> Sort(object? value, bool reverse, bool caseSensitive, object? attribute)
    {
        var items = TemplateValues.Iterate(value).ToList();
        Func<object?, object?> key = attribute is null ? item => SortKey(item, caseSensitive) : item => SortKey(Attribute(item, attribute), caseSensitive);
        List<object?> sorted = [.. items.OrderBy(key, Comparer<object?>.Create(TemplateValues.Compare))];
        if (reverse)
        {
            sorted.Reverse();
        }
        return sorted;
    }

    private static object? ToInt(object? value, object? fallback) => value switch
    {
        long or bool => TemplateValues.ToLong(value),
        double d => (long)Math.Truncate(d),
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => (long)Math.Truncate(d),
        _ => fallback,
    };

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long or bool or double => TemplateValues.ToDouble(value),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };

    /// <summary>Jinja's <c>indent</c>: every line after the first (and the first if asked) gets the indentation; blank lines only if asked.</summary>
    private static string Indent(string text, object? width, bool first, bool blank)
    {
        string indentation = width is string s ? s : new string(' ', (int)TemplateValues.ToLong(width));
        string[] lines = text.Split('\n');
        var result = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                result.Append('\n');
            }
            bool indent = (i > 0 || first) && (blank || lines[i].Length > 0);
            result.Append(indent ? indentation : "").Append(lines[i]);
        }
        return result.ToString();
    }

    /// <summary>Jinja's <c>title</c> filter: words start after whitespace, '-', and opening brackets.</summary>
    private static string Title(string text) =>
        string.Concat(WordBeginnings().Split(text).Where(part => part.Length > 0).Select(part => part[..1].ToUpperInvariant() + part[1..].ToLowerInvariant()));

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex WordBeginnings();
}
