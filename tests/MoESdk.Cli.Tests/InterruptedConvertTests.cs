using System.Diagnostics;
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
    [Fact]
    public async Task InterruptedConversionsNeverLoseTheArtifactNorLeavePartialFolders()
    {
        string artifact = tiny.NewPath(".moe");
        var timer = Stopwatch.StartNew();
        var (firstExit, _, firstError) = MoeProcess.Run(tiny.Convert(tiny.Model, artifact));
        Assert.True(firstExit == 0, firstError);
        TimeSpan whole = timer.Elapsed;

        var random = new Random(20261130);
        for (int run = 0; run < InterruptedRun.Runs(4); run++)
        {
            string signal = run % 2 == 0 ? "INT" : "KILL";
            TimeSpan delay = whole * (0.1 + (0.9 * random.NextDouble()));
            InterruptedRun convert = await InterruptedRun.RunAsync(tiny.Convert(tiny.Model, artifact), signal, delay,
                writer => Directory.Exists($"{artifact}.partial-{writer}"));
            convert.Report(output, run, $"the start (a whole conversion takes {whole.TotalSeconds:F1} s)");

            string aside = $"{artifact}.old-{convert.ProcessId}";
            Assert.True(IsArtifact(artifact) || IsArtifact(aside), $"run {run}: neither the artifact nor a whole copy set aside remains");
            convert.AssertExitCode(run);
            if (signal == "INT" && !convert.FinishedFirst)
            {
                Assert.True(InterruptedRun.Leftovers(artifact).Length == 0, $"run {run} left {string.Join(", ", InterruptedRun.Leftovers(artifact))}");
            }
        }

        var (lastExit, _, lastError) = MoeProcess.Run(tiny.Convert(tiny.Model, artifact));
        Assert.True(lastExit == 0, lastError);
        Assert.True(IsArtifact(artifact));
        Assert.Empty(InterruptedRun.Leftovers(artifact));
    }

    private static bool IsArtifact(string path) => File.Exists(Path.Combine(path, "moe.json")) && File.Exists(Path.Combine(path, "model.safetensors"));
}
