namespace MoESdk.Conversion;

/// <summary>
/// A <see cref="ConversionOptions"/> setting that cannot work. <see cref="Exception.Message"/> names options as the library
/// does (<c>ConversionOptions.ExpertsPerToken</c>); <see cref="MessageIn"/> names them as the caller's user wrote them (the
/// CLI's flags, which the MSBuild task maps to item metadata), so no caller relays another tool's vocabulary.
/// </summary>
/// <param name="option">The property at fault (<see cref="ArgumentException.ParamName"/>), e.g. <c>ExpertsPerToken</c>.</param>
/// <param name="message">The message, given how to name each option it mentions.</param>
internal sealed class ConversionOptionException(string option, Func<Func<string, string>, string> message) : ArgumentException(null, option)
{
    /// <summary>The library's name of an option: <c>ConversionOptions.ExpertsPerToken</c>.</summary>
    public static string LibraryName(string option) => $"{nameof(ConversionOptions)}.{option}";

    public override string Message => MessageIn(LibraryName);

    /// <summary>The message with each option named by <paramref name="name"/> (given the property name, e.g. <c>ExpertsPerToken</c>).</summary>
    public string MessageIn(Func<string, string> name) => message(name);
}
