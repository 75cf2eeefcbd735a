using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace MoESdk.Cli.Tests;

/// <summary>
/// <c>moe convert</c> stopped by SIGINT or killed by SIGKILL at random points while it replaces an existing
/// artifact: the artifact is never lost (it is in place, or set aside whole for the next run to restore), a
/// stopped run exits 130 and leaves no partial folder, and the next run cleans up after a killed one.
/// MOESDK_KILL_RUNS sets the number of interrupted runs (default 4, a fixed seed).
/// </summary>
public class InterruptedConvertTests(TinyModelFolder tiny, ITestOutputHelper output) : IClassFixture<TinyModelFolder>
{
    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("MOESDK_KILL_RUNS"), CultureInfo.InvariantCulture, out int runs) ? runs : 4;

    [Fact]
    public async Task InterruptedConversionsNeverLoseTheArtifactNorLeavePartialFolders()
    {
        string artifact = tiny.NewPath(".moe");
        var timer = Stopwatch.StartNew();
        var (firstExit, _, firstError) = MoeProcess.Run(tiny.Convert(tiny.Model, artifact));
        Assert.True(firstExit == 0, firstError);
        TimeSpan whole = timer.Elapsed;

        var random = new Random(20261130);
        for (int run = 0; run < Runs; run++)
        {
            string signal = run % 2 == 0 ? "INT" : "KILL";
            TimeSpan delay = whole * (0.1 + (0.9 * random.NextDouble()));
            using Process convert = MoeProcess.Start(tiny.Convert(tiny.Model, artifact));
            Task<string> stderr = convert.StandardError.ReadToEndAsync();
            _ = convert.StandardOutput.ReadToEndAsync();
            bool finished = convert.WaitForExit(delay);
            if (!finished)
            {
                MoeProcess.Signal(convert, signal);
            }
            Assert.True(convert.WaitForExit(TimeSpan.FromMinutes(1)), "the process did not end after the signal");
            output.WriteLine($"run {run}: SIG{signal} after {delay.TotalSeconds:F1} s of {whole.TotalSeconds:F1} s: exit {convert.ExitCode}{(finished ? " (finished first)" : "")}");

            string aside = $"{artifact}.old-{convert.Id}";
            Assert.True(IsArtifact(artifact) || IsArtifact(aside), $"run {run}: neither the artifact nor a whole copy set aside remains");
            if (signal == "INT" && !finished)
            {
                Assert.True(convert.ExitCode == 130, $"run {run}: exit {convert.ExitCode}: {await stderr}");
                Assert.True(Leftovers(artifact).Length == 0, $"run {run} left {string.Join(", ", Leftovers(artifact))}");
            }
        }

        var (lastExit, _, lastError) = MoeProcess.Run(tiny.Convert(tiny.Model, artifact));
        Assert.True(lastExit == 0, lastError);
        Assert.True(IsArtifact(artifact));
        Assert.Empty(Leftovers(artifact));
    }

    private static bool IsArtifact(string path) => File.Exists(Path.Combine(path, "moe.json")) && File.Exists(Path.Combine(path, "model.safetensors"));

    // Siblings named after the artifact (X.moe.partial-PID, X.moe.old-PID); not the pattern "X.moe.*", which matches X.moe too.
    private static string[] Leftovers(string artifact) =>
        Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(artifact)!).Where(path => path.StartsWith(artifact + ".", StringComparison.Ordinal)).ToArray();
}
