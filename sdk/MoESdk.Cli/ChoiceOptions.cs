using System.CommandLine;
using System.CommandLine.Parsing;
using MoESdk.Conversion;

namespace MoESdk.Cli;

/// <summary>
/// Options whose values are the members of a conversion enum (<see cref="MoEMethod"/>, <see cref="MoERouter"/>): the
/// names, the help text and the error for a wrong value all come from the enum (<see cref="ConversionChoice"/>).
/// </summary>
internal static class ChoiceOptions
{
    /// <summary>
    /// The option; unset, it reads null and the caller takes the library's default (<paramref name="libraryDefault"/>, named in the help).
    /// </summary>
    public static Option<T?> Create<T>(string name, string purpose, T? libraryDefault = null) where T : struct, Enum => new(name)
    {
        Description = $"{purpose}: {ConversionChoice.Described<T>()}.{(libraryDefault is { } value ? $" Default: {ConversionChoice.Name(value)}." : "")}",
        HelpName = string.Join("|", ConversionChoice.All<T>().Select(ConversionChoice.Name)),
        CustomParser = Parse<T>,
    };

    /// <summary>The choice the option's one token names, or an error naming the option and the valid names.</summary>
    private static T? Parse<T>(ArgumentResult result) where T : struct, Enum
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }
        string value = result.Tokens[^1].Value;
        if (ConversionChoice.TryParse(value, out T choice))
        {
            return choice;
        }
        string option = (result.Parent as OptionResult)?.Option.Name ?? typeof(T).Name;
        result.AddError($"{option} '{value}' is not valid: use one of {ConversionChoice.Names<T>()}.");
        return null;
    }
}
