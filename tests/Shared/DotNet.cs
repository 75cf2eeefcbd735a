using System.Diagnostics;
using System.Text;

namespace MoESdk.Testing;

/// <summary>The result of one dotnet command: exit code, stdout and stderr together, and how long it ran.</summary>
internal sealed record DotNetResult(int ExitCode, string Output, TimeSpan Elapsed);

/// <summary>
/// Runs the dotnet CLI as a child process, as a user would in a terminal. MSBuild variables the test host inherited
/// from the build that started it are removed, so the child evaluates projects like a fresh shell; build servers are
/// disabled, so no process outlives the command.
/// </summary>
internal static class DotNet
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(8);

    public static DotNetResult Run(string workingDirectory, params string[] args) => Run(workingDirectory, DefaultTimeout, args);

    /// <summary>Runs the command; one that has not finished after <paramref name="timeout"/> is killed with its children and fails.</summary>
    public static DotNetResult Run(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        ProcessStartInfo start = StartInfo(workingDirectory, args);
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in {timeout.TotalMinutes:0.#} minutes:{Environment.NewLine}{output}");
        }
        process.WaitForExit();
        clock.Stop();
        lock (output)
        {
            return new DotNetResult(process.ExitCode, output.ToString(), clock.Elapsed);
        }
    }

    /// <summary>A dotnet command line with a clean MSBuild environment and no build servers.</summary>
    public static ProcessStartInfo StartInfo(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && k != "MSBUILDDISABLENODEREUSE").ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }
}
