using System.Diagnostics;
using MoESdk.Loading;

namespace MoESdk.Tests.Hostile;

/// <summary>Single-file outputs (a GGUF export, a weights file) written beside their destination and renamed.</summary>
[Trait("Category", "Unit")]
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("moe-atomic-").FullName;

    [Fact]
    public void AWriteRemovesWhatAKilledWriterLeftAndKeepsARunningWritersFile()
    {
        string target = Path.Combine(_folder, "model.gguf");
        string killed = $"{target}.partial-{ExitedProcessId()}.0123abcd.tmp";
        string running = $"{target}.partial-{Environment.ProcessId}.4567ef01.tmp";
        string unrelated = Path.Combine(_folder, "other.gguf.partial-1.tmp");
        foreach (string file in new[] { killed, running, unrelated })
        {
            File.WriteAllText(file, "half");
        }

        AtomicFile.Write(target, stream => stream.Write("whole"u8));

        Assert.Equal("whole", File.ReadAllText(target));
        Assert.False(File.Exists(killed), "the leftover of a killed writer remains");
        Assert.True(File.Exists(running), "the file of a running writer was deleted");
        Assert.True(File.Exists(unrelated), "a file of another destination was deleted");
        Assert.Equal(3, Directory.GetFiles(_folder).Length);
    }

    [Fact]
    public void AFailedWriteLeavesNothingAndKeepsTheOldFile()
    {
        string target = Path.Combine(_folder, "model.gguf");
        File.WriteAllText(target, "old");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, _ => throw new InvalidOperationException("disk full")));

        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal([target], Directory.GetFiles(_folder));
    }

    /// <summary>The id of a process that has ended (and, being just ended, is not reused yet).</summary>
    private static int ExitedProcessId()
    {
        using Process process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
