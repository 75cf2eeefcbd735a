using System.Runtime.InteropServices;

namespace MoESdk.Build.Tests;

/// <summary>
/// A plain console consumer (no RuntimeIdentifier) gets libtorch for the build machine's platform only, in its output
/// and in a publish, runs with it, and gets every platform's natives back with <c>MoESdkNativeRuntimes=all</c>.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class LeanOutputTests(PackedSdk sdk, ITestOutputHelper log)
{
    private const string TorchProgram = """
        using static TorchSharp.torch;

        using var sum = ones(2, 3).sum();
        Console.WriteLine($"libtorch sum {sum.item<float>()}");
        """;

    // The main libtorch library of each platform the TorchSharp-cpu packages ship.
    private static readonly Dictionary<string, string> LibTorch = new()
    {
        ["linux-x64"] = "runtimes/linux-x64/native/libtorch_cpu.so",
        ["win-x64"] = "runtimes/win-x64/native/torch_cpu.dll",
        ["osx-arm64"] = "runtimes/osx-arm64/native/libtorch_cpu.dylib",
    };

    private const long MaxOutputBytes = 600L * 1024 * 1024;

    [Fact]
    public void OutputAndPublishHoldOnlyThisPlatformsLibTorchAndRun()
    {
        string host = RuntimeInformation.RuntimeIdentifier;
        Assert.True(LibTorch.ContainsKey(host), $"the test knows libtorch's file names for {string.Join(", ", LibTorch.Keys)}, not {host}");
        Consumer app = Consumer.Create(sdk, "lean", "", program: TorchProgram);

        DotNetResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.Output);
        string bin = app.PathOf("bin/Debug/net10.0");
        AssertOnlyHostLibTorch(bin, host);
        DotNetResult run = app.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("libtorch sum 6", run.Output);

        DotNetResult publish = DotNet.Run(app.Folder, "publish", "-o", app.PathOf("out"));
        Assert.True(publish.ExitCode == 0, publish.Output);
        AssertOnlyHostLibTorch(app.PathOf("out"), host);
        log.WriteLine($"bin/: {Megabytes(bin)} MB, publish without a RID: {Megabytes(app.PathOf("out"))} MB");

        DotNetResult all = app.Build("-p:MoESdkNativeRuntimes=all");
        Assert.True(all.ExitCode == 0, all.Output);
        Assert.All(LibTorch.Values, path => Assert.True(File.Exists(Path.Combine(bin, path)), $"{path} missing with MoESdkNativeRuntimes=all"));
    }

    private static void AssertOnlyHostLibTorch(string folder, string host)
    {
        foreach ((string rid, string path) in LibTorch)
        {
            Assert.True(File.Exists(Path.Combine(folder, path)) == (rid == host), $"{path} in {folder}: expected only {host}'s libtorch");
        }
        Assert.True(Bytes(folder) < MaxOutputBytes, $"{folder} holds {Megabytes(folder)} MB");
    }

    private static long Bytes(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length);

    private static long Megabytes(string folder) => Bytes(folder) / (1024 * 1024);
}
