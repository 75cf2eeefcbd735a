using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace MoESdk.Cli.Tests;

/// <summary>
/// One run of <c>moe</c> sent a signal (INT or KILL) at a chosen point: after a delay counted from its start, or
/// from the moment its output begins to be written. What the kill tests of <c>convert</c> and <c>export</c> share.
/// </summary>
/// <param name="Signal">INT or KILL.</param>
/// <param name="Delay">How long after the start (or after the write began) the signal was sent.</param>
/// <param name="FinishedFirst">The run ended before the signal was due, so none was sent.</param>
/// <param name="MidWrite">The output was being written (its temporary existed) when the signal was sent, and it landed.</param>
internal sealed record InterruptedRun(string Signal, TimeSpan Delay, bool FinishedFirst, bool MidWrite, int ExitCode, string Stderr, int ProcessId)
{
    /// <summary>MOESDK_KILL_RUNS, or <paramref name="fallback"/>: the suite runs few, a longer check sets more.</summary>
    public static int Runs(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("MOESDK_KILL_RUNS"), CultureInfo.InvariantCulture, out int runs) ? runs : fallback;

    /// <summary>The exit code of a run the signal ended: 130 after SIGINT (the run stops itself), 137 after SIGKILL.</summary>
    public int SignalledExitCode => Signal == "INT" ? 130 : 137;

    /// <summary>
    /// The signal was sent and ended the run. One sent as the run was ending (it finished its work first) does not
    /// land: the run exits 0.
    /// </summary>
    public bool Landed => !FinishedFirst && ExitCode != 0;

    /// <summary>A run that finished first succeeded; a signal sent ended the run with its exit code, or came too late to stop a successful run.</summary>
    public void AssertExitCode(int run) =>
        Assert.True(ExitCode == 0 || (!FinishedFirst && ExitCode == SignalledExitCode), $"run {run}: SIG{Signal}, exit {ExitCode}: {Stderr}");

    /// <summary>
    /// Runs <c>moe</c> with <paramref name="args"/> and sends <paramref name="signal"/> <paramref name="delay"/> after
    /// its start or, with <paramref name="fromWriteStart"/>, after <paramref name="writing"/> first holds for it (its
    /// output's temporary exists), unless the run has ended by then.
    /// </summary>
    public static async Task<InterruptedRun> RunAsync(string[] args, string signal, TimeSpan delay, Func<int, bool> writing, bool fromWriteStart = false)
    {
        using Process moe = MoeProcess.Start(args);
        Task<string> stderr = moe.StandardError.ReadToEndAsync();
        _ = moe.StandardOutput.ReadToEndAsync();
        bool finished = fromWriteStart && !WaitUntil(() => writing(moe.Id), moe);
        finished = finished || moe.WaitForExit(delay);
        bool midWrite = false;
        if (!finished)
        {
            midWrite = writing(moe.Id);
            MoeProcess.Signal(moe, signal);
        }
        Assert.True(moe.WaitForExit(TimeSpan.FromMinutes(1)), "the process did not end after the signal");
        return new InterruptedRun(signal, delay, finished, midWrite && moe.ExitCode != 0, moe.ExitCode, await stderr, moe.Id);
    }

    /// <summary>
    /// Runs <c>moe</c> with <paramref name="args"/> to the end, which must succeed, and times it: the whole run, and
    /// how long <paramref name="writing"/> held for it (its output's temporary existed).
    /// </summary>
    public static (TimeSpan Whole, TimeSpan Writing) Time(string[] args, Func<int, bool> writing)
    {
        var timer = Stopwatch.StartNew();
        using Process moe = MoeProcess.Start(args);
        Task<string> stderr = moe.StandardError.ReadToEndAsync();
        _ = moe.StandardOutput.ReadToEndAsync();
        bool seen = WaitUntil(() => writing(moe.Id), moe);
        TimeSpan writeBegan = timer.Elapsed;
        WaitUntil(() => !writing(moe.Id), moe);
        TimeSpan written = timer.Elapsed;
        Assert.True(moe.WaitForExit(TimeSpan.FromMinutes(3)), $"moe {string.Join(' ', args)} did not finish in 3 minutes");
        Assert.True(moe.ExitCode == 0, stderr.Result);
        Assert.True(seen, "the output's temporary was never seen");
        return (timer.Elapsed, written - writeBegan);
    }

    /// <summary>Writes one line about the run, for the test's output.</summary>
    public void Report(ITestOutputHelper output, int run, string from) =>
        output.WriteLine($"run {run}: SIG{Signal} {Delay.TotalSeconds:F2} s after {from}: exit {ExitCode}"
            + (FinishedFirst ? " (finished first)" : !Landed ? " (sent as it ended)" : MidWrite ? " (mid-write)" : ""));

    /// <summary>
    /// What writers of <paramref name="output"/> leave beside it: siblings named after it (X.partial-PID…,
    /// X.old-PID); not the pattern "X.*", which matches X itself when it is a folder.
    /// </summary>
    public static string[] Leftovers(string output) =>
        Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(output)!).Where(path => path.StartsWith(output + ".", StringComparison.Ordinal)).ToArray();

    // Polls until the condition holds (true) or the process ends (false).
    private static bool WaitUntil(Func<bool> condition, Process process)
    {
        while (!condition())
        {
            if (process.WaitForExit(TimeSpan.FromMilliseconds(2)))
            {
                return condition();
            }
        }
        return true;
    }
}
