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

    [Theory]
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
