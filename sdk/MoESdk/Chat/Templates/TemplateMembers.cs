using System.Text;

namespace MoESdk.Chat.Templates;

/// <summary>
/// Attribute and item access, slicing, and the Python methods templates call on strings and mappings
/// (<c>content.strip()</c>, <c>message.get('x')</c>, <c>tools.items()</c>…).
/// </summary>
internal static class TemplateMembers
{
    private static readonly HashSet<string> MappingMethods = ["items", "keys", "values", "get"];

    /// <summary>
    /// <c>x.name</c> as Jinja reads it: a method of the value's type first, then a mapping's key; a missing one is
    /// <see cref="Undefined"/>. Reading through an undefined value is an error.
    /// </summary>
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined undefined:
                throw new RenderProblem($"{undefined.Description} is undefined, so it has no attribute '{name}'.");
            case OrderedDictionary<string, object?> map:
                if (MappingMethods.Contains(name))
                {
                    return MappingMethod(map, name);
                }
                return map.TryGetValue(name, out object? value) ? value : new Undefined($"'dict object' has no attribute '{name}'");
            case TemplateNamespace ns:
                return ns.Attributes.TryGetValue(name, out object? attribute) ? attribute : new Undefined($"namespace has no attribute '{name}'");
            case string s:
                return (object?)StringMethod(s, name) ?? new Undefined($"'str object' has no attribute '{name}'");
            default:
                return new Undefined($"'{TemplateValues.TypeName(target)}' has no attribute '{name}'");
        }
    }

    /// <summary><c>x[key]</c>: a mapping's key first (then a method of that name), a sequence's or string's index (negative from the end).</summary>
    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case Undefined undefined:
                throw new RenderProblem($"{undefined.Description} is undefined, so it has no item {TemplateValues.Repr(key)}.");
            case OrderedDictionary<string, object?> map:
                if (key is string name)
                {
                    return map.TryGetValue(name, out object? value) ? value
                        : MappingMethods.Contains(name) ? MappingMethod(map, name)
                        : new Undefined($"'dict object' has no attribute '{name}'");
                }
                return new Undefined($"'dict object' has no item {TemplateValues.Repr(key)}");
            case TemplateNamespace ns when key is string attribute:
                return GetAttribute(ns, attribute);
            case IReadOnlyList<object?> list when key is long or bool:
                return Index(list, TemplateValues.ToLong(key), out object? item) ? item : new Undefined($"index {key} of a {TemplateValues.TypeName(target)} of {list.Count}");
            case string s when key is long or bool:
                List<string> points = TemplateValues.CodePoints(s);
                return Index(points.Cast<object?>().ToList(), TemplateValues.ToLong(key), out object? character) ? character
                    : new Undefined($"index {key} of a string of {points.Count} characters");
            case string s when key is string method:
                return GetAttribute(s, method);
            case null:
                throw new RenderProblem($"none has no item {TemplateValues.Repr(key)}.");
            default:
                return new Undefined($"'{TemplateValues.TypeName(target)}' has no item {TemplateValues.Repr(key)}");
        }
    }

    private static bool Index(IReadOnlyList<object?> list, long index, out object? item)
    {
        long i = index < 0 ? list.Count + index : index;
        if (i >= 0 && i < list.Count)
        {
            item = list[(int)i];
            return true;
        }
        item = null;
        return false;
    }

    /// <summary>Python's <c>x[start:stop:step]</c> on a list, tuple or string.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        long stride = step is null ? 1 : TemplateValues.ToLong(step);
        if (stride == 0)
        {
            throw new RenderProblem("slice step cannot be zero.");
        }
        IReadOnlyList<object?> items = target switch
        {
            IReadOnlyList<object?> list => list,
            string s => TemplateValues.CodePoints(s).Cast<object?>().ToList(),
            Undefined undefined => throw new RenderProblem($"{undefined.Description} is undefined, so it cannot be sliced."),
            _ => throw new RenderProblem($"{TemplateValues.TypeName(target)} cannot be sliced."),
        };
        int n = items.Count;
        long Clamp(object? bound, long fallback, long low, long high)
        {
            if (bound is null)
            {
                return fallback;
            }
            long b = TemplateValues.ToLong(bound);
            if (b < 0)
            {
                b += n;
            }
            return Math.Clamp(b, low, high);
        }
        var picked = new List<object?>();
        if (stride > 0)
        {
            for (long i = Clamp(start, 0, 0, n), end = Clamp(stop, n, 0, n); i < end; i += stride)
            {
                picked.Add(items[(int)i]);
            }
        }
        else
        {
            for (long i = Clamp(start, n - 1, -1, n - 1), end = Clamp(stop, -1, -1, n - 1); i > end; i += stride)
            {
                picked.Add(items[(int)i]);
            }
        }
        return target switch
        {
            string => string.Concat(picked.Cast<string>()),
            object?[] => picked.ToArray(),
            _ => picked,
        };
    }

    private static TemplateFunction MappingMethod(OrderedDictionary<string, object?> map, string name) => name switch
    {
        "items" => new TemplateFunction("items", (_, _) => map.Select(p => (object?)new object?[] { p.Key, p.Value }).ToList()),
        "keys" => new TemplateFunction("keys", (_, _) => map.Keys.Cast<object?>().ToList()),
        "values" => new TemplateFunction("values", (_, _) => map.Values.ToList()),
        _ => new TemplateFunction("get", (args, _) =>
        {
            if (args.Count == 0)
            {
                throw new RenderProblem("get() needs a key.");
            }
            return args[0] is string key && map.TryGetValue(key, out object? value) ? value : args.Count > 1 ? args[1] : null;
        }),
    };

    private static TemplateFunction? StringMethod(string s, string name) => name switch
    {
        "strip" => new TemplateFunction(name, (args, _) => Strip(s, Chars(args), start: true, end: true)),
        "lstrip" => new TemplateFunction(name, (args, _) => Strip(s, Chars(args), start: true, end: false)),
        "rstrip" => new TemplateFunction(name, (args, _) => Strip(s, Chars(args), start: false, end: true)),
        "upper" => new TemplateFunction(name, (_, _) => s.ToUpperInvariant()),
        "lower" => new TemplateFunction(name, (_, _) => s.ToLowerInvariant()),
        "title" => new TemplateFunction(name, (_, _) => PythonTitle(s)),
        "capitalize" => new TemplateFunction(name, (_, _) => Capitalize(s)),
        "startswith" => new TemplateFunction(name, (args, _) => AnyAffix(args, name, a => s.StartsWith(a, StringComparison.Ordinal))),
        "endswith" => new TemplateFunction(name, (args, _) => AnyAffix(args, name, a => s.EndsWith(a, StringComparison.Ordinal))),
        "split" => new TemplateFunction(name, (args, named) => Split(s, Arg(args, named, 0, "sep"), Arg(args, named, 1, "maxsplit"))),
        "replace" => new TemplateFunction(name, (args, named) => Replace(s, args, named)),
        "find" => new TemplateFunction(name, (args, _) => (long)s.IndexOf(ArgString(args, 0, name), StringComparison.Ordinal)),
        "count" => new TemplateFunction(name, (args, _) => CountOccurrences(s, ArgString(args, 0, name))),
        "join" => new TemplateFunction(name, (args, _) => string.Join(s, TemplateValues.Iterate(args.Count > 0 ? args[0] : null).Select(TemplateValues.ToText))),
        "isdigit" => new TemplateFunction(name, (_, _) => s.Length > 0 && s.All(char.IsDigit)),
        "isspace" => new TemplateFunction(name, (_, _) => s.Length > 0 && s.All(TemplateValues.IsPythonWhitespace)),
        _ => null,
    };

    private static object? Arg(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> named, int index, string name) =>
        index < args.Count ? args[index] : named.TryGetValue(name, out object? value) ? value : null;

    private static string ArgString(IReadOnlyList<object?> args, int index, string method) =>
        index < args.Count && args[index] is string s ? s : throw new RenderProblem($"{method}() needs a string argument.");

    private static string? Chars(IReadOnlyList<object?> args) => args.Count == 0 || args[0] is null ? null
        : args[0] as string ?? throw new RenderProblem("strip arguments must be a string or none.");

    /// <summary>Python's <c>str.strip(chars)</c>: whitespace when <paramref name="chars"/> is null, else any of those characters.</summary>
    public static string Strip(string s, string? chars, bool start, bool end)
    {
        Func<char, bool> strip = chars is null ? TemplateValues.IsPythonWhitespace : c => chars.Contains(c, StringComparison.Ordinal);
        int first = 0;
        int last = s.Length;
        while (start && first < last && strip(s[first]))
        {
            first++;
        }
        while (end && last > first && strip(s[last - 1]))
        {
            last--;
        }
        return s[first..last];
    }

    private static bool AnyAffix(IReadOnlyList<object?> args, string method, Func<string, bool> test) => args.Count == 0
        ? throw new RenderProblem($"{method}() needs an argument.")
        : args[0] switch
        {
            string affix => test(affix),
            IReadOnlyList<object?> affixes => affixes.Any(a => test(a as string ?? throw new RenderProblem($"{method}() takes strings."))),
            _ => throw new RenderProblem($"{method}() takes a string or a tuple of strings."),
        };

    /// <summary>Python's <c>str.split(sep=None, maxsplit=-1)</c>.</summary>
    public static List<object?> Split(string s, object? separator, object? maxSplit)
    {
        long max = maxSplit is null ? -1 : TemplateValues.ToLong(maxSplit);
        var parts = new List<object?>();
        if (separator is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && TemplateValues.IsPythonWhitespace(s[i]))
                {
                    i++;
                }
                if (i >= s.Length)
                {
                    return parts;
                }
                if (max >= 0 && parts.Count >= max)
                {
                    parts.Add(TemplateMembers.Strip(s[i..], null, start: false, end: true));
                    return parts;
                }
                int begin = i;
                while (i < s.Length && !TemplateValues.IsPythonWhitespace(s[i]))
                {
                    i++;
                }
                parts.Add(s[begin..i]);
            }
        }
        string sep = separator as string ?? throw new RenderProblem("split() separator must be a string or none.");
        if (sep.Length == 0)
        {
            throw new RenderProblem("split() separator is empty.");
        }
        int from = 0;
        while (max < 0 || parts.Count < max)
        {
            int at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }
            parts.Add(s[from..at]);
            from = at + sep.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    public static string Replace(string s, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> named)
    {
        if (args.Count < 2 || args[0] is not string old || args[1] is not string replacement)
        {
            throw new RenderProblem("replace() needs two strings: the old text and the new.");
        }
        object? countValue = args.Count > 2 ? args[2] : named.TryGetValue("count", out object? c) ? c : null;
        long count = countValue is null ? -1 : TemplateValues.ToLong(countValue);
        if (count < 0)
        {
            return old.Length == 0 ? InsertEverywhere(s, replacement) : s.Replace(old, replacement, StringComparison.Ordinal);
        }
        var result = new StringBuilder();
        int from = 0;
        for (long done = 0; done < count; done++)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0 || (old.Length == 0 && at > s.Length))
            {
                break;
            }
            result.Append(s, from, at - from).Append(replacement);
            if (old.Length == 0)
            {
                if (at < s.Length)
                {
                    result.Append(s[at]);
                }
                from = at + 1;
                if (from > s.Length)
                {
                    return result.ToString();
                }
                continue;
            }
            from = at + old.Length;
        }
        return result.Append(s, Math.Min(from, s.Length), s.Length - Math.Min(from, s.Length)).ToString();
    }

    private static string InsertEverywhere(string s, string insert)
    {
        var result = new StringBuilder(insert);
        foreach (char c in s)
        {
            result.Append(c).Append(insert);
        }
        return result.ToString();
    }

    private static long CountOccurrences(string s, string part)
    {
        if (part.Length == 0)
        {
            return TemplateValues.CodePoints(s).Count + 1;
        }
        long n = 0;
        for (int at = s.IndexOf(part, StringComparison.Ordinal); at >= 0; at = s.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
    }

    /// <summary>Python's <c>str.capitalize()</c>: the first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : s[..1].ToUpperInvariant() + s[1..].ToLowerInvariant();

    /// <summary>Python's <c>str.title()</c>: a letter after a non-letter is upper case, every other letter lower case.</summary>
    public static string PythonTitle(string s)
    {
        var result = new StringBuilder(s.Length);
        bool previousIsLetter = false;
        foreach (char c in s)
        {
            result.Append(previousIsLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousIsLetter = char.IsLetter(c);
        }
        return result.ToString();
    }
}
