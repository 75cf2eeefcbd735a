using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace MoESdk.Build.Tests;

/// <summary>Ctrl+C during a conversion stops the converter and leaves no artifact, whole or partial.</summary>
[Collection(ConsumerBuilds.Name)]
public sealed partial class CancellationTests(PackedSdk sdk)
{
    private const int SigInt = 2;

    [Fact]
    public void CtrlCDuringConversionKillsTheConverterAndLeavesNoArtifact()
    {
        Assert.True(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "this test sends SIGINT, as a terminal does on Ctrl+C");
        Consumer app = Consumer.Create(sdk, "cancel", """<MoEModel Include="models/tiny" Method="factor" Experts="8" />""");
        TinyModel.Write(app.PathOf("models/tiny"));

        ProcessStartInfo start = DotNet.StartInfo(app.Folder, "build", "-v:n");
        var output = new StringBuilder();
        using var converting = new ManualResetEventSlim();
        using var build = new Process { StartInfo = start };
        build.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            // The task logs the converter's command line as it starts it; the converter then needs seconds (runtime
            // and libtorch start-up, calibration, scoring) before it writes anything.
            if (e.Data?.Contains("moe-converter/moe.dll convert ", StringComparison.Ordinal) == true)
            {
                converting.Set();
            }
        };
        build.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        build.Start();
        build.BeginOutputReadLine();
        build.BeginErrorReadLine();

        Assert.True(converting.Wait(TimeSpan.FromMinutes(5)), $"the converter never started:{Environment.NewLine}{output}");
        Assert.Equal(0, Kill(build.Id, SigInt));
        Assert.True(build.WaitForExit(TimeSpan.FromMinutes(2)), "the build did not stop after Ctrl+C");
        build.WaitForExit();

        string log;
        lock (output)
        {
            log = output.ToString();
        }
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("MSB5021", log); // MSBuild terminated the converter because the build was cancelled.
        Assert.DoesNotContain("MoESdk: converted", log);
        Assert.False(Directory.Exists(app.PathOf("obj/Debug/net10.0/moe/tiny.moe")), log);
        Assert.Empty(Directory.GetDirectories(app.PathOf("obj/Debug/net10.0/moe"), "*.partial-*"));
        Assert.Empty(ConverterProcesses(app.Folder));
    }

    /// <summary>Processes whose command line runs this consumer's staged converter.</summary>
    private static List<int> ConverterProcesses(string consumerFolder)
    {
        var found = new List<int>();
        foreach (string process in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), out int pid))
            {
                continue;
            }
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(Path.Combine(consumerFolder, "obj", "moe-converter"), StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while it was being read.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's process: not ours.
            }
        }
        return found;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
