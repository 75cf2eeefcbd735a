using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace MoESdk.Generators.Parsing;

/// <summary>Turns model names into C# identifiers: <c>kjv-llama</c> becomes <c>KjvLlama</c>.</summary>
internal static class Identifiers
{
    /// <summary>
    /// Splits the name at every character that cannot appear in an identifier and joins the parts in PascalCase;
    /// a leading digit gets an underscore. Null when nothing usable is left (e.g. <c>"--"</c>).
    /// </summary>
    public static string? ToTypeName(string name)
    {
        var builder = new StringBuilder(name.Length);
        var startOfWord = true;
        foreach (var c in name)
        {
            if (!SyntaxFacts.IsIdentifierPartCharacter(c) || c == '_')
            {
                startOfWord = true;
                continue;
            }

            builder.Append(startOfWord ? char.ToUpperInvariant(c) : c);
            startOfWord = false;
        }

        if (builder.Length == 0)
        {
            return null;
        }

        if (!SyntaxFacts.IsIdentifierStartCharacter(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    /// <summary>Whether every dot-separated part of <paramref name="name"/> is a valid, non-keyword identifier.</summary>
    public static bool IsNamespace(string name)
    {
        foreach (var part in name.Split('.'))
        {
            if (!SyntaxFacts.IsValidIdentifier(part) || SyntaxFacts.GetKeywordKind(part) != SyntaxKind.None)
            {
                return false;
            }
        }

        return true;
    }
}
