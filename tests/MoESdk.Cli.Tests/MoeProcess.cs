using System.Diagnostics;
using System.Reflection;

namespace MoESdk.Cli.Tests;

/// <summary>Runs the built <c>moe</c> command as a child process and captures what it prints.</summary>
internal static class MoeProcess
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string Data(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Metadata("MoeCli"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"moe {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Metadata(string key) =>
        typeof(MoeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
