using System.Globalization;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace MoESdk.Cli.Tests;

/// <summary>
/// <c>moe export</c> of the reference model stopped by SIGINT or killed by SIGKILL at random points, from its start or
/// from the moment the GGUF file begins to be written: the output is either absent or byte for byte the complete
/// export, never a truncated file; a stopped run exits 130 and leaves no temporary; what a killed run leaves, the
/// next export to the same place removes; the model read is never changed. MOESDK_KILL_RUNS sets the number of
/// interrupted runs (default 4, a fixed seed).
/// </summary>
public sealed class InterruptedExportTests(ITestOutputHelper output) : IDisposable
{
    // q8_0: quantizing while writing keeps the file's temporary there long enough (a few hundred ms) to be hit.
    private static string[] Export(string path) => ["export", "--model", Model, "--format", "gguf", "--out", path, "--dtype", "q8_0"];

    private static string Model => MoeProcess.Data("models", "kjv-llama");

    private readonly string _folder = Directory.CreateTempSubdirectory("moe-export-kill-").FullName;

    [Fact]
    public async Task InterruptedExportsLeaveTheWholeFileOrNoneAndNoTemporaries()
    {
        string modelBefore = Fingerprint(Model);
        string reference = Path.Combine(_folder, "reference.gguf");
        var (whole, writing) = InterruptedRun.Time(Export(reference), writer => Writes(reference, writer));
        byte[] complete = File.ReadAllBytes(reference);
        output.WriteLine($"a whole export takes {whole.TotalSeconds:F2} s; its temporary file exists for {writing.TotalSeconds:F2} s ({complete.Length:N0} bytes)");

        string gguf = Path.Combine(_folder, "model.gguf");
        var killed = new HashSet<int>();
        var random = new Random(20261130);
        int runs = InterruptedRun.Runs(4), midWrite = 0;
        for (int run = 0; run < runs; run++)
        {
            string signal = run % 2 == 0 ? "INT" : "KILL";
            // Half the runs are signalled at any point of the run, half while the file is being written.
            bool fromWriteStart = run / 2 % 2 == 1;
            TimeSpan delay = fromWriteStart ? writing * (1.2 * random.NextDouble()) : whole * (0.1 + (0.9 * random.NextDouble()));
            InterruptedRun export = await InterruptedRun.RunAsync(Export(gguf), signal, delay, writer => Writes(gguf, writer), fromWriteStart);
            export.Report(output, run, fromWriteStart ? "the write began" : "the start");
            midWrite += export.MidWrite ? 1 : 0;
            if (signal == "KILL" && export.Landed)
            {
                killed.Add(export.ProcessId);
            }

            export.AssertExitCode(run);
            Assert.True(export.ExitCode != 0 || File.Exists(gguf), $"run {run} exited 0 without its output");
            // A stopped run removes its temporary; a killed one's stays until an export to the same place gets to writing.
            string[] strays = [.. InterruptedRun.Leftovers(gguf).Where(path => !IsTemporary(gguf, path) || !killed.Contains(WriterOf(gguf, path)))];
            Assert.True(strays.Length == 0, $"run {run}: left by runs that were not killed: {string.Join(", ", strays)}");
            if (File.Exists(gguf))
            {
                Assert.True(File.ReadAllBytes(gguf).AsSpan().SequenceEqual(complete), $"run {run}: {gguf} is not the complete export ({new FileInfo(gguf).Length:N0} bytes)");
                // export refuses an existing output: the next run needs the place free, as a user would make it.
                File.Delete(gguf);
            }
        }
        output.WriteLine($"{runs} interrupted runs: {midWrite} signals landed while the file was being written");

        var (lastExit, _, lastError) = MoeProcess.Run(Export(gguf));
        Assert.True(lastExit == 0, lastError);
        Assert.True(File.ReadAllBytes(gguf).AsSpan().SequenceEqual(complete), "the export after the interrupted ones differs from the reference");
        Assert.Empty(InterruptedRun.Leftovers(gguf));
        Assert.Equal(modelBefore, Fingerprint(Model));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static bool IsTemporary(string gguf, string path) => path.StartsWith(gguf + ".partial-", StringComparison.Ordinal);

    private static bool Writes(string gguf, int writer) => InterruptedRun.Leftovers(gguf).Any(path => IsTemporary(gguf, path) && WriterOf(gguf, path) == writer);

    // X.gguf.partial-PID.GUID.tmp: the id of the process that wrote it.
    private static int WriterOf(string gguf, string temporary) =>
        int.Parse(temporary[(gguf.Length + ".partial-".Length)..].Split('.')[0], CultureInfo.InvariantCulture);

    // The names and contents of the model's files.
    private static string Fingerprint(string folder) =>
        string.Join('\n', Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(file => $"{file} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))}"));
}
