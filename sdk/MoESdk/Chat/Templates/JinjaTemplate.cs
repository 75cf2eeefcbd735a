using System.Globalization;
using System.Text;

namespace MoESdk.Chat.Templates;

/// <summary>
/// A Jinja template, parsed once and rendered many times, with the semantics Hugging Face gives chat templates:
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> on, <c>loopcontrols</c>, transformers' <c>tojson</c>, and the globals
/// <c>raise_exception(message)</c>, <c>strftime_now(format)</c>, <c>namespace(...)</c>, <c>range</c> and <c>dict</c>.
/// The subset real chat templates use; anything else is a <see cref="TemplateException"/> naming the construct.
/// </summary>
internal sealed class JinjaTemplate
{
    private readonly TemplateSource _source;
    private readonly IReadOnlyList<Statement> _body;

    private JinjaTemplate(TemplateSource source, IReadOnlyList<Statement> body)
    {
        _source = source;
        _body = body;
    }

    /// <summary>Name the template is known by in error messages (e.g. "tokenizer_config.json chat_template").</summary>
    public string Name => _source.Name;

    public string Source => _source.Text;

    /// <summary>Strings the template writes (text and string literals), and strings it looks for in its data (method arguments, <c>in</c> tests).</summary>
    internal TemplateLiterals Literals => TemplateLiterals.Of(_body);

    /// <exception cref="TemplateException">The template's syntax is wrong or unsupported.</exception>
    public static JinjaTemplate Parse(string source, string name = "template")
    {
        ArgumentNullException.ThrowIfNull(source);
        var templateSource = new TemplateSource(name, source);
        return new JinjaTemplate(templateSource, TemplateParser.Parse(templateSource));
    }

    /// <summary>
    /// Renders with <paramref name="variables"/>: strings, numbers, booleans, null, lists, dictionaries (ordered as
    /// given) or <see cref="System.Text.Json.JsonElement"/>s.
    /// </summary>
    /// <exception cref="TemplateException">A construct failed (its line and column are in the message).</exception>
    /// <exception cref="TemplateRaisedException">The template called <c>raise_exception</c>.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new TemplateScope(null);
        globals.Set("raise_exception", new TemplateFunction("raise_exception", (args, _) =>
            throw new RaisedProblem(args.Count > 0 ? TemplateValues.ToText(args[0]) : "the template raised an exception.")));
        globals.Set("strftime_now", new TemplateFunction("strftime_now", (args, _) =>
            Strftime.Format(DateTime.Now, args.Count > 0 && args[0] is string format ? format : throw new RenderProblem("strftime_now() needs a format string."))));
        globals.Set("namespace", new TemplateFunction("namespace", (args, named) =>
        {
            var ns = new TemplateNamespace();
            foreach (object? initial in args)
            {
                if (initial is OrderedDictionary<string, object?> map)
                {
                    foreach ((string key, object? value) in map)
                    {
                        ns.Attributes[key] = value;
                    }
                }
            }
            foreach ((string key, object? value) in named)
            {
                ns.Attributes[key] = value;
            }
            return ns;
        }));
        globals.Set("dict", new TemplateFunction("dict", (_, named) => new OrderedDictionary<string, object?>(named, StringComparer.Ordinal)));
        globals.Set("range", new TemplateFunction("range", (args, _) => Range(args)));
        var scope = new TemplateScope(globals);
        foreach ((string key, object? value) in variables)
        {
            scope.Set(key, TemplateValues.FromClr(value));
        }
        return new TemplateInterpreter(_source).Render(_body, scope);
    }

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        (long start, long stop, long step) = args.Count switch
        {
            1 => (0L, TemplateValues.ToLong(args[0]), 1L),
            2 => (TemplateValues.ToLong(args[0]), TemplateValues.ToLong(args[1]), 1L),
            3 => (TemplateValues.ToLong(args[0]), TemplateValues.ToLong(args[1]), TemplateValues.ToLong(args[2])),
            _ => throw new RenderProblem("range() takes 1 to 3 integers."),
        };
        if (step == 0)
        {
            throw new RenderProblem("range() step cannot be zero.");
        }
        var values = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            values.Add(i);
        }
        return values;
    }

    /// <summary>Python's <c>strftime</c> directives that templates use to print today's date.</summary>
    private static class Strftime
    {
        public static string Format(DateTime time, string format)
        {
            var text = new StringBuilder();
            for (int i = 0; i < format.Length; i++)
            {
                if (format[i] != '%' || i + 1 >= format.Length)
                {
                    text.Append(format[i]);
                    continue;
                }
                char directive = format[++i];
                bool unpadded = directive == '-' && i + 1 < format.Length;
                if (unpadded)
                {
                    directive = format[++i];
                }
                text.Append(Directive(time, directive, unpadded));
            }
            return text.ToString();
        }

        private static string Directive(DateTime t, char directive, bool unpadded)
        {
            CultureInfo c = CultureInfo.InvariantCulture;
            string Number(int value) => value.ToString(unpadded ? "0" : "00", c);
            return directive switch
            {
                'Y' => t.Year.ToString("0000", c),
                'y' => Number(t.Year % 100),
                'm' => Number(t.Month),
                'd' => Number(t.Day),
                'e' => t.Day.ToString(c).PadLeft(2),
                'H' => Number(t.Hour),
                'I' => Number(t.Hour % 12 == 0 ? 12 : t.Hour % 12),
                'M' => Number(t.Minute),
                'S' => Number(t.Second),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'B' => t.ToString("MMMM", c),
                'b' or 'h' => t.ToString("MMM", c),
                'A' => t.ToString("dddd", c),
                'a' => t.ToString("ddd", c),
                'j' => t.DayOfYear.ToString(unpadded ? "0" : "000", c),
                '%' => "%",
                _ => "%" + directive,
            };
        }
    }
}
