namespace MoESdk.Chat.Templates;

/// <summary>Jinja's tests: <c>x is defined</c>, <c>x is not none</c>, <c>x is string</c>, <c>x is divisibleby 3</c>….</summary>
internal static class TemplatePredicates
{
    public static bool Apply(string name, object? value, IReadOnlyList<object?> args)
    {
        object? Argument() => args.Count > 0 ? args[0] : throw new RenderProblem($"test '{name}' needs an argument.");
        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "string" => value is string,
            "number" => value is long or double,
            "integer" => value is long,
            "float" => value is double,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "mapping" => value is OrderedDictionary<string, object?>,
            "sequence" => value is string || TemplateValues.IsList(value) || value is OrderedDictionary<string, object?>,
            "iterable" => value is string || TemplateValues.IsList(value) || value is OrderedDictionary<string, object?> || value is Undefined,
            "callable" => value is TemplateFunction,
            "odd" => TemplateValues.ToLong(value) % 2 != 0,
            "even" => TemplateValues.ToLong(value) % 2 == 0,
            "divisibleby" => TemplateValues.ToLong(value) % TemplateValues.ToLong(Argument()) == 0,
            "lower" => value is string lower && lower == lower.ToLowerInvariant(),
            "upper" => value is string upper && upper == upper.ToUpperInvariant(),
            "eq" or "equalto" or "==" => TemplateValues.AreEqual(value, Argument()),
            "ne" or "!=" => !TemplateValues.AreEqual(value, Argument()),
            "lt" or "lessthan" or "<" => TemplateValues.Compare(value, Argument()) < 0,
            "le" or "<=" => TemplateValues.Compare(value, Argument()) <= 0,
            "gt" or "greaterthan" or ">" => TemplateValues.Compare(value, Argument()) > 0,
            "ge" or ">=" => TemplateValues.Compare(value, Argument()) >= 0,
            "in" => TemplateArithmetic.Contains(Argument(), value),
            "sameas" => ReferenceEquals(value, Argument()) || (value is null or bool && TemplateValues.AreEqual(value, Argument()) && value?.GetType() == Argument()?.GetType()),
            _ => throw new RenderProblem($"unknown test '{name}'."),
        };
    }
}
