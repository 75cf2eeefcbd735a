using System.Text;

namespace MoESdk.Chat.Templates;

/// <summary>Python's arithmetic and membership on template values.</summary>
internal static class TemplateArithmetic
{
    public static object? Apply(string op, object? left, object? right)
    {
        if (left is Undefined || right is Undefined)
        {
            Undefined undefined = left as Undefined ?? (Undefined)right!;
            throw new RenderProblem($"{undefined.Description} is undefined, so it cannot be used with '{op}'.");
        }
        if (TemplateValues.IsNumber(left) && TemplateValues.IsNumber(right))
        {
            return Numeric(op, left, right);
        }
        switch (op)
        {
            case "+" when left is string a && right is string b:
                return a + b;
            case "+" when left is List<object?> a && right is List<object?> b:
                return a.Concat(b).ToList();
            case "+" when left is object?[] a && right is object?[] b:
                return a.Concat(b).ToArray();
            case "*" when left is string s && right is long or bool:
                return Repeat(s, TemplateValues.ToLong(right));
            case "*" when right is string s && left is long or bool:
                return Repeat(s, TemplateValues.ToLong(left));
            case "*" when left is List<object?> list && right is long or bool:
                return Enumerable.Repeat(list, (int)Math.Max(0, TemplateValues.ToLong(right))).SelectMany(x => x).ToList();
        }
        throw new RenderProblem($"unsupported operand types for {op}: {TemplateValues.TypeName(left)} and {TemplateValues.TypeName(right)}.");
    }

    private static string Repeat(string s, long times)
    {
        var text = new StringBuilder();
        for (long i = 0; i < times; i++)
        {
            text.Append(s);
        }
        return text.ToString();
    }

    private static object Numeric(string op, object? left, object? right)
    {
        bool integers = left is long or bool && right is long or bool;
        if (integers)
        {
            long a = TemplateValues.ToLong(left);
            long b = TemplateValues.ToLong(right);
            switch (op)
            {
                case "+": return a + b;
                case "-": return a - b;
                case "*": return a * b;
                case "/": return b == 0 ? throw new RenderProblem("division by zero.") : (double)a / b;
                case "//": return b == 0 ? throw new RenderProblem("integer division by zero.") : FloorDivide(a, b);
                case "%": return b == 0 ? throw new RenderProblem("modulo by zero.") : a - (b * FloorDivide(a, b));
                case "**": return b >= 0 ? (object)(long)Math.Pow(a, b) : Math.Pow(a, b);
            }
        }
        double x = TemplateValues.ToDouble(left);
        double y = TemplateValues.ToDouble(right);
        return op switch
        {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => y == 0 ? throw new RenderProblem("division by zero.") : x / y,
            "//" => y == 0 ? throw new RenderProblem("division by zero.") : Math.Floor(x / y),
            "%" => y == 0 ? throw new RenderProblem("modulo by zero.") : x - (y * Math.Floor(x / y)),
            "**" => Math.Pow(x, y),
            _ => throw new RenderProblem($"unknown operator '{op}'."),
        };
    }

    private static long FloorDivide(long a, long b)
    {
        long q = a / b;
        return (a % b != 0) && ((a < 0) != (b < 0)) ? q - 1 : q;
    }

    /// <summary>Python's <c>item in container</c>: a substring, a list item, a mapping key.</summary>
    public static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string part ? s.Contains(part, StringComparison.Ordinal)
            : throw new RenderProblem($"'in <string>' needs a string on the left, not {TemplateValues.TypeName(item)}."),
        IReadOnlyList<object?> list => list.Any(x => TemplateValues.AreEqual(x, item)),
        OrderedDictionary<string, object?> map => item is string key && map.ContainsKey(key),
        TemplateNamespace ns => item is string name && ns.Attributes.ContainsKey(name),
        Undefined => false,
        _ => throw new RenderProblem($"{TemplateValues.TypeName(container)} is not a container for 'in'."),
    };
}
