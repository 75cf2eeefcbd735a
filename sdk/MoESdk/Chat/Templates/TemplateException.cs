namespace MoESdk.Chat.Templates;

/// <summary>
/// A chat template that cannot be parsed or rendered: names the template, the construct and where it is
/// (line and column of the template source, 1-based).
/// </summary>
public class TemplateException : Exception
{
    public TemplateException(string templateName, int line, int column, string problem)
        : base($"Template '{templateName}', line {line}, column {column}: {problem}")
    {
        TemplateName = templateName;
        Line = line;
        Column = column;
        Problem = problem;
    }

    public TemplateException()
    {
        TemplateName = "";
        Problem = "";
    }

    public TemplateException(string message) : base(message)
    {
        TemplateName = "";
        Problem = message;
    }

    public TemplateException(string message, Exception innerException) : base(message, innerException)
    {
        TemplateName = "";
        Problem = message;
    }

    public string TemplateName { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The problem alone, without the template's name and position.</summary>
    public string Problem { get; }
}

/// <summary>
/// The template itself refused the conversation with <c>raise_exception(message)</c> (e.g. roles that do not
/// alternate): <see cref="TemplateException.Problem"/> is the template's own message.
/// </summary>
public sealed class TemplateRaisedException : TemplateException
{
    public TemplateRaisedException(string templateName, int line, int column, string message)
        : base(templateName, line, column, message)
    {
    }
}
