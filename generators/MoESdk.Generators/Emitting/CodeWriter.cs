using System.Text;

namespace MoESdk.Generators.Emitting;

/// <summary>Writes indented C# lines; blank lines get no trailing spaces.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder builder = new();
    private int indent;

    public void Indent() => indent++;

    public void Outdent() => indent--;

    public void Line(string line = "")
    {
        if (line.Length > 0)
        {
            builder.Append(' ', indent * 4).Append(line);
        }

        builder.Append('\n');
    }

    /// <summary>Writes a multi-line block at the current indentation.</summary>
    public void Block(string text)
    {
        foreach (var line in text.Replace("\r\n", "\n").Split('\n'))
        {
            Line(line);
        }
    }

    public void OpenBrace()
    {
        Line("{");
        Indent();
    }

    public void CloseBrace(string suffix = "")
    {
        Outdent();
        Line("}" + suffix);
    }

    public override string ToString() => builder.ToString();
}
