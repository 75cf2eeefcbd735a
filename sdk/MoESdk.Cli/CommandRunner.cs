using System.CommandLine;
using System.Text.Json;
using MoESdk.Conversion;
using MoESdk.Loading;
using Spectre.Console;

namespace MoESdk.Cli;

/// <summary>
/// Runs a subcommand's body: user errors (bad files, bad options) become one line on stderr and exit code
/// 1 without a stack trace unless --verbose; cancellation (Ctrl+C) exits 130.
/// </summary>
public static class CommandRunner
{
    public const int UserError = 1;
    public const int Cancelled = 130;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Progress and messages: stderr, so that stdout carries only results (and --json output).</summary>
    public static IAnsiConsole Status { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>
    /// Sets <paramref name="command"/>'s action. <paramref name="optionNames"/> names the <see cref="ConversionOptions"/> properties
    /// in the command's own vocabulary (its flags), so a conversion option's error tells the user what to type.
    /// </summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> body, Func<string, string>? optionNames = null) =>
        command.SetAction(async (result, cancellationToken) =>
        {
            bool verbose = result.GetValue(CommonOptions.Verbose);
            try
            {
                return await body(result, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("cancelled");
                return Cancelled;
            }
            catch (Exception ex) when (IsUserError(ex))
            {
                string message = ex is ConversionOptionException option && optionNames is not null ? option.MessageIn(optionNames) : ex.Message;
                Console.Error.WriteLine(result.GetValue(CommonOptions.MSBuild) ? $"error {BuildErrorCodes.For(ex)}: {message}" : $"error: {message}");
                if (verbose)
                {
                    Console.Error.WriteLine(ex);
                }
                return UserError;
            }
        });

    /// <summary>
    /// Option errors (unknown option, missing or malformed value): one line on stderr that points at the
    /// command's help, never the help itself on stdout; with --json also <c>{"error": ...}</c> on stdout.
    /// </summary>
    public static int ReportParseErrors(ParseResult result)
    {
        string message = string.Join(" ", result.Errors.Select(error => error.Message));
        IReadOnlyList<string> tokens = result.Tokens.Select(token => token.Value).ToArray();
        if (tokens.Contains(CommonOptions.Json.Name))
        {
            WriteJson(new { Error = message });
        }
        string command = string.Join(' ', result.CommandResult.Command.Parents.OfType<Command>().Reverse().Select(c => c.Name).Append(result.CommandResult.Command.Name));
        Console.Error.WriteLine(tokens.Contains(CommonOptions.MSBuild.Name)
            ? $"error {BuildErrorCodes.InvalidSettings}: {message}"
            : $"error: {message} (see '{command} --help')");
        return UserError;
    }

    /// <summary>Writes <paramref name="result"/> as indented camelCase JSON on stdout.</summary>
    public static void WriteJson<T>(T result) => Console.Out.WriteLine(JsonSerializer.Serialize(result, JsonOptions));

    private static bool IsUserError(Exception ex) =>
        ex is ModelFormatException or ArgumentException or FileNotFoundException or DirectoryNotFoundException
            or InvalidDataException or NotSupportedException or UnauthorizedAccessException or IOException or InvalidOperationException;
}
