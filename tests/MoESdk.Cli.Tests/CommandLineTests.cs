using System.Text.Json;

namespace MoESdk.Cli.Tests;

public class CommandLineTests
{
    private static string Checkpoint(string name) => MoeProcess.Data("tests", "MoESdk.Tests", "data", "llama2c", name);

    [Fact]
    public void GenerateFromTokenIdsPrintsTheReferenceGreedyContinuation()
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(Checkpoint("rand-gqa-shared.golden.json")));
        JsonElement testCase = golden.RootElement.GetProperty("cases")[0];
        string prompt = string.Join(",", testCase.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()));
        int[] expected = testCase.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).Take(16).ToArray();

        var (exit, stdout, stderr) = MoeProcess.Run("generate", "--model", Checkpoint("rand-gqa-shared.bin"), "--tokens", prompt, "-n", "16", "--temperature", "0", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        Assert.Equal(expected, result.RootElement.GetProperty("generatedTokens").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("MaxTokens", result.RootElement.GetProperty("finishReason").GetString());
    }

    [Fact]
    public void GenerateHoldsTheModelInInt8AndContinuesAsFloat32Does()
    {
        string[] Greedy(string dtype)
        {
            var (exit, stdout, stderr) = MoeProcess.Run("generate", "--model", MoeProcess.Data("models", "kjv-llama"), "--prompt", "And God said",
                "-n", "12", "--temperature", "0", "--dtype", dtype, "--json");
            Assert.True(exit == 0, stderr);
            using JsonDocument result = JsonDocument.Parse(stdout);
            return [.. result.RootElement.GetProperty("generatedTokens").EnumerateArray().Select(e => e.GetRawText())];
        }

        string[] wide = Greedy("f32"), held = Greedy("int8");

        Assert.Equal(12, held.Length);
        // The reference model's top choices are far apart: int8 weights (perplexity within 0.2 %) keep the first ones.
        Assert.Equal(wide[..6], held[..6]);
    }

    [Fact]
    public void EvalDecodesInEachPrecisionFloat32AsTorchScoresAndInt8WithinOnePercent()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("eval", "--model", MoeProcess.Data("models", "kjv-llama"),
            "--text", MoeProcess.Data("models", "kjv-llama", "data", "heldout.txt"), "--max-windows", "3", "--dtype", "f32", "int8", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        double torchPath = result.RootElement.GetProperty("perplexity").GetDouble();
        JsonElement[] precisions = result.RootElement.GetProperty("precisions").EnumerateArray().ToArray();
        Assert.Equal(["f32", "int8"], precisions.Select(p => p.GetProperty("precision").GetString()));
        // The same float32 weights through the kernels token by token and through TorchSharp window by window.
        Assert.Equal(1.0, precisions[0].GetProperty("perplexity").GetDouble() / torchPath, 3);
        Assert.InRange(precisions[1].GetProperty("perplexityRatio").GetDouble(), 0.99, 1.01);
    }

    [Fact]
    public void InspectJsonReportsArchitectureAndParameterCounts()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("inspect", "--model", Checkpoint("rand-mha-unshared.bin"), "--json");
        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        JsonElement r = result.RootElement;
        Assert.Equal(128, r.GetProperty("hiddenSize").GetInt32());
        Assert.Equal(2, r.GetProperty("layers").GetInt32());
        Assert.False(r.GetProperty("tiedEmbeddings").GetBoolean());
        long parts = new[] { "embeddingParameters", "headParameters", "attentionParameters", "normParameters", "feedForwardParameters" }
            .Sum(p => r.GetProperty(p).GetInt64());
        Assert.Equal(r.GetProperty("parameters").GetInt64(), parts);
        Assert.Equal(2L * 3 * 128 * 344, r.GetProperty("feedForwardParameters").GetInt64());
    }

    [Fact]
    public void MissingModelIsOneClearLineWithoutStackTrace()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("generate", "--model", "/no/such/model.bin", "--tokens", "1");
        Assert.NotEqual(0, exit);
        Assert.Contains("/no/such/model.bin", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void TruncatedCheckpointNamesTheFileAndTheProblem()
    {
        string truncated = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.bin");
        byte[] bytes = File.ReadAllBytes(Checkpoint("rand-gqa-shared.bin"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        try
        {
            var (exit, _, stderr) = MoeProcess.Run("inspect", "--model", truncated);
            Assert.Equal(1, exit);
            Assert.Contains(truncated, stderr);
            Assert.Contains("truncated", stderr);
            Assert.DoesNotContain("   at ", stderr);

            var (_, _, verbose) = MoeProcess.Run("inspect", "--model", truncated, "--verbose");
            Assert.Contains("   at ", verbose);
        }
        finally
        {
            File.Delete(truncated);
        }
    }

    [Fact]
    public void BadOptionsAreRejectedBeforeAnyWork()
    {
        var (exit, _, stderr) = MoeProcess.Run("generate", "--model", Checkpoint("rand-gqa-shared.bin"), "--tokens", "1,x");
        Assert.Equal(1, exit);
        Assert.Contains("--tokens", stderr);

        (exit, _, stderr) = MoeProcess.Run("generate", "--model", Checkpoint("rand-gqa-shared.bin"), "--tokens", "1", "--top-p", "1.5");
        Assert.Equal(1, exit);
        Assert.Contains("Top-p", stderr);

        (exit, _, stderr) = MoeProcess.Run("generate", "--model", Checkpoint("rand-gqa-shared.bin"), "--prompt", "hello");
        Assert.Equal(1, exit);
        Assert.Contains("no tokenizer", stderr);
    }
}
