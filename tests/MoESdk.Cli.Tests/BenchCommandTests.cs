using System.Text.Json;

namespace MoESdk.Cli.Tests;

public class BenchCommandTests
{
    private static string Checkpoint(string name) => MoeProcess.Data("tests", "MoESdk.Tests", "data", "llama2c", name);

    [Fact]
    public void JsonReportsEveryModelWithRatiosOverTheFirst()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("bench", "--model", Checkpoint("rand-gqa-shared.bin"), "--compare", Checkpoint("rand-mha-unshared.bin"),
            "--prompt-tokens", "8", "--decode-tokens", "8", "--repetitions", "1", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        JsonElement[] models = result.RootElement.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(2, models.Length);
        Assert.Equal("rand-gqa-shared.bin", models[0].GetProperty("model").GetString());
        Assert.Equal(1.0, models[0].GetProperty("decodeSpeedup").GetDouble());
        Assert.Equal(1.0, models[0].GetProperty("idealDecodeSpeedup").GetDouble());
        foreach (JsonElement m in models)
        {
            Assert.True(m.GetProperty("decodeTokensPerSecond").GetDouble() > 0);
            Assert.True(m.GetProperty("prefillTokensPerSecond").GetDouble() > 0);
            Assert.Equal(1.0, m.GetProperty("activeFeedForwardRatio").GetDouble());
        }
        double expectedRatio = models[1].GetProperty("decodeTokensPerSecond").GetDouble() / models[0].GetProperty("decodeTokensPerSecond").GetDouble();
        Assert.Equal(expectedRatio, models[1].GetProperty("decodeSpeedup").GetDouble(), 6);
        Assert.Equal("kernels", result.RootElement.GetProperty("backend").GetString());
    }

    [Fact]
    public void EachDTypeMeasuresEveryModelInThatPrecision()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("bench", "--model", Checkpoint("rand-gqa-shared.bin"),
            "--prompt-tokens", "8", "--decode-tokens", "8", "--repetitions", "1", "--dtype", "f32", "bf16", "int8", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        string[] models = result.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("model").GetString()!).ToArray();
        Assert.Equal(["rand-gqa-shared.bin f32", "rand-gqa-shared.bin bf16", "rand-gqa-shared.bin int8"], models);
    }

    [Fact]
    public void PeerMeasuresLlamaCppOnTheSameWeightsInEachPrecision()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("bench", "--model", Checkpoint("rand-gqa-shared.bin"), "--compare", Checkpoint("rand-mha-unshared.bin"),
            "--prompt-tokens", "8", "--decode-tokens", "8", "--repetitions", "1", "--dtype", "f32", "int8",
            "--peer", "llamacpp", "--peer-path", MoeProcess.LlamaCppPeer, "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        JsonElement[] ours = result.RootElement.GetProperty("models").EnumerateArray().ToArray();
        JsonElement peer = result.RootElement.GetProperty("peer");
        Assert.StartsWith("llama.cpp (LLamaSharp 0.30", peer.GetProperty("engine").GetString());
        JsonElement[] theirs = peer.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(ours.Select(m => m.GetProperty("model").GetString()), theirs.Select(m => m.GetProperty("model").GetString()));
        Assert.Equal(["f32", "f32", "q8_0", "q8_0"], theirs.Select(m => m.GetProperty("weightType").GetString()));
        for (int i = 0; i < ours.Length; i++)
        {
            double decode = theirs[i].GetProperty("decodeTokensPerSecond").GetDouble();
            Assert.True(decode > 0 && theirs[i].GetProperty("prefillTokensPerSecond").GetDouble() > 0);
            Assert.Equal(ours[i].GetProperty("decodeTokensPerSecond").GetDouble() / decode, theirs[i].GetProperty("decodeSpeedup").GetDouble(), 6);
            // The reference in each precision is the peer on the first model in that precision.
            double reference = theirs[i < 2 ? 0 : 2].GetProperty("decodeTokensPerSecond").GetDouble();
            Assert.Equal(ours[i].GetProperty("decodeTokensPerSecond").GetDouble() / reference, theirs[i].GetProperty("decodeSpeedupOverReference").GetDouble(), 6);
        }
    }

    [Fact]
    public void AMissingPeerPluginSaysHowToBuildIt()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"moe-no-peer-{Guid.NewGuid():N}");
        var (exit, stdout, stderr) = MoeProcess.Run("bench", "--shape", "110m", "--peer", "llamacpp", "--peer-path", missing);

        Assert.Equal(1, exit);
        Assert.Contains("dotnet build tests/MoESdk.Benchmarks.LlamaCpp -c Release", stderr);
        Assert.Contains(missing, stderr);
        Assert.DoesNotContain("building synthetic", stderr + stdout);
    }

    [Fact]
    public void AnAssemblyThatIsNoPeerIsRefusedByName()
    {
        string notAPeer = typeof(BenchCommandTests).Assembly.Location;
        var (exit, _, stderr) = MoeProcess.Run("bench", "--shape", "110m", "--peer", "llamacpp", "--peer-path", notAPeer);

        Assert.Equal(1, exit);
        Assert.Contains($"{notAPeer} is not a peer this version of moe can run", stderr);
    }

    [Theory]
    [InlineData("--peer-path names the peer plugin of --peer", "--shape", "110m", "--peer-path", "/tmp")]
    [InlineData("llamacpp", "--shape", "110m", "--peer", "vllm")]
    [InlineData("--dtype 'q4' is not a decode precision: use f32, bf16, int8 or int4", "--shape", "110m", "--dtype", "q4")]
    [InlineData("Give either --model")]
    [InlineData("Unknown shape 'huge'", "--shape", "huge")]
    [InlineData("must be at least 1", "--shape", "110m", "--repetitions", "0")]
    public void BadOptionsFailBeforeAnyWork(string message, params string[] args)
    {
        var (exit, _, stderr) = MoeProcess.Run(["bench", .. args]);
        Assert.NotEqual(0, exit);
        Assert.Contains(message, stderr);
    }
}
