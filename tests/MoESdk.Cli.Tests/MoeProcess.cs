using System.Diagnostics;
using System.Reflection;

namespace MoESdk.Cli.Tests;

/// <summary>Runs the built <c>moe</c> command as a child process and captures what it prints.</summary>
internal static class MoeProcess
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    /// <summary>The build folder of the llama.cpp plugin that <c>moe bench --peer llamacpp</c> loads.</summary>
    public static string LlamaCppPeer { get; } = Metadata("LlamaCppPeer");

    public static string Data(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunWith(new Dictionary<string, string>(), args);

    /// <summary><see cref="Run"/> with <paramref name="environment"/> added to the child's environment.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunWith(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using Process process = Start(environment, args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"moe {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts <c>moe</c> with <paramref name="args"/>, stdout and stderr redirected.</summary>
    public static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    private static Process Start(IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }
        start.ArgumentList.Add(Metadata("MoeCli"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start)!;
    }

    /// <summary>
    /// Runs <c>moe</c> like <see cref="Run"/> and also reports its peak resident memory (the kernel's high-water
    /// mark, VmHWM, polled until the process ends). A process past <paramref name="killAboveBytes"/> is killed,
    /// so a runaway allocation fails the test instead of the machine.
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr, long PeakBytes) RunMeasured(long killAboveBytes, params string[] args)
    {
        using Process process = Start(args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!process.WaitForExit(TimeSpan.FromMilliseconds(20)))
        {
            peak = Math.Max(peak, HighWaterMark(process.Id));
            if (peak > killAboveBytes || DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                break;
            }
        }
        return (process.ExitCode, stdout.Result, stderr.Result, peak);
    }

    /// <summary>Sends a POSIX signal (e.g. INT, TERM, KILL) to <paramref name="process"/>.</summary>
    public static void Signal(Process process, string signal)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
    }

    private static long HighWaterMark(int processId)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0; // the process has just ended
        }
    }

    private static string Metadata(string key) =>
        typeof(MoeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
