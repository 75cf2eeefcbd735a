using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace MoESdk.Generators.Emitting;

/// <summary>Turns manifest values into C# literals and XML doc text.</summary>
internal static class Literals
{
    public static string String(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    // "R" round-trips: the constant equals the manifest's double exactly.
    public static string Double(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
