using System.Text.Json;
using Xunit.Abstractions;

namespace MoESdk.Cli.Tests;

/// <summary>
/// The command line on hostile and broken inputs: bounded memory (peak resident size of the process, under
/// 300 MB), one line of error without help or stack trace, and checks that come before minutes of work.
/// </summary>
public class HostileCommandLineTests(TinyModelFolder tiny, ITestOutputHelper output) : IClassFixture<TinyModelFolder>
{
    private const long MemoryLimit = 300L << 20;

    private static void AssertOneLine(string stderr)
    {
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData(10_000_000)]
    [InlineData(2_000_000_000)]
    public void AHugeContextGeneratesInBoundedMemory(int maxPositions)
    {
        string model = tiny.WithConfig(config => config["max_position_embeddings"] = maxPositions);

        var (exit, stdout, stderr, peak) = MoeProcess.RunMeasured(2 * MemoryLimit, "generate", "--model", model, "--prompt", "And God said", "-n", "16", "--temperature", "0");

        Assert.True(exit == 0, stderr);
        Assert.NotEqual("", stdout.Trim());
        output.WriteLine($"peak resident memory: {peak >> 20} MB");
        Assert.True(peak < MemoryLimit, $"peak {peak >> 20} MB");
    }

    [Fact]
    public void ABillionLayersIsOneLineInBoundedMemory()
    {
        string model = tiny.WithConfig(config => config["num_hidden_layers"] = 1_000_000_000);

        var (exit, stdout, stderr, peak) = MoeProcess.RunMeasured(2 * MemoryLimit, "inspect", "--model", model);

        Assert.Equal(1, exit);
        Assert.Contains("num_hidden_layers is 1000000000, but the weights hold 2 decoder layers", stderr);
        AssertOneLine(stderr);
        Assert.Equal("", stdout);
        output.WriteLine($"peak resident memory: {peak >> 20} MB");
        Assert.True(peak < MemoryLimit, $"peak {peak >> 20} MB");
    }

    [Fact]
    public void NaNWeightsAreRefusedUnlessTrusted()
    {
        string model = tiny.WithFirstWeight(float.NaN);

        var (exit, _, stderr, peak) = MoeProcess.RunMeasured(2 * MemoryLimit, "generate", "--model", model, "--prompt", "And God said", "-n", "4");
        Assert.Equal(1, exit);
        Assert.Contains("model.safetensors: tensor 'model.embed_tokens.weight' holds NaN at index [0, 0]", stderr);
        AssertOneLine(stderr);
        output.WriteLine($"peak resident memory: {peak >> 20} MB");
        Assert.True(peak < MemoryLimit, $"peak {peak >> 20} MB");

        var (trustedExit, _, trustedError) = MoeProcess.Run("generate", "--model", model, "--prompt", "And God said", "-n", "4", "--trust-weights");
        Assert.True(trustedExit == 0, trustedError);
    }

    [Fact]
    public void AnOptionErrorWithJsonIsAJsonErrorAndNoHelp()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("convert", "--model", tiny.Model, "--experts", "many", "--json");

        Assert.Equal(1, exit);
        using JsonDocument error = JsonDocument.Parse(stdout);
        Assert.Contains("many", error.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain("Usage", stdout + stderr);
        AssertOneLine(stderr);
        Assert.Contains("moe convert --help", stderr);
    }

    [Fact]
    public void AnOptionErrorWithoutJsonLeavesStdoutEmpty()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("generate", "--model", tiny.Model, "--no-such-option");

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Contains("--no-such-option", stderr);
        AssertOneLine(stderr);
    }

    [Theory]
    [InlineData("file", "is a file")]
    [InlineData("under-a-file", "cannot write the artifact")]
    [InlineData("foreign-folder", "is not a MoE artifact")]
    public void AnOutputThatCannotTakeAnArtifactIsRefusedBeforeTheModelIsRead(string kind, string problem)
    {
        string blocker = tiny.NewPath(".txt");
        File.WriteAllText(blocker, "in the way");
        string output = kind switch
        {
            "file" => blocker,
            "under-a-file" => Path.Combine(blocker, "x.moe"),
            _ => tiny.Model,
        };

        // A model that does not exist: the output is checked first, so its error is the one reported.
        var (exit, _, stderr) = MoeProcess.Run("convert", "--model", "/no/such/model", "--out", output, "--calibration", tiny.Calibration);

        Assert.Equal(1, exit);
        Assert.Contains(problem, stderr);
        Assert.DoesNotContain("/no/such/model", stderr);
        AssertOneLine(stderr);
    }

    [Fact]
    public void RandomBytesAsCalibrationTextWarnWithTheirRates()
    {
        string random = tiny.NewPath(".bin");
        var bytes = new byte[40_000];
        new Random(15).NextBytes(bytes);
        File.WriteAllBytes(random, bytes);

        var (exit, _, stderr) = MoeProcess.Run(tiny.Convert(tiny.Model, tiny.NewPath(".moe"), random));

        Assert.True(exit == 0, stderr);
        Assert.Contains($"warning: {random} does not look like text", stderr);
        Assert.Contains("invalid UTF-8", stderr);
    }
}
