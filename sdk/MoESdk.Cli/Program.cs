using System.CommandLine;
using MoESdk.Cli;

// Bare `moe` shows the help rather than an error.
ParseResult parsed = MoECommandLine.Create().Parse(args.Length == 0 ? ["--help"] : args);
if (parsed.Errors.Count > 0)
{
    return CommandRunner.ReportParseErrors(parsed);
}
using StopSignals stopSignals = StopSignals.Register();
// Ctrl+C and SIGTERM are StopSignals' job: it removes unfinished outputs and exits at once.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
