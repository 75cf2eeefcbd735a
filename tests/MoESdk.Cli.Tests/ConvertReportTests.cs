using System.Text.Json.Nodes;

namespace MoESdk.Cli.Tests;

/// <summary><c>moe convert --report</c>: the manifest and the JSON hold only what was measured, and no timing without a report.</summary>
public class ConvertReportTests(TinyModelFolder tiny) : IClassFixture<TinyModelFolder>
{
    [Fact]
    public void WithoutAReportNothingIsMeasuredAndTheManifestHasNoTiming()
    {
        string output = tiny.NewPath(".moe");

        var (exit, stdout, stderr) = MoeProcess.Run([.. tiny.Convert(tiny.Model, output), "--report", "none", "--json"]);

        Assert.True(exit == 0, stderr);
        JsonObject report = JsonNode.Parse(stdout)!.AsObject();
        Assert.Null(report["densePerplexity"]);
        Assert.Null(report["decodeSpeedup"]);
        Assert.DoesNotContain("evaluating", stderr);
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "moe.json")))!.AsObject();
        Assert.Equal("tiny", (string?)manifest["source"]!["path"]);
        JsonObject measured = manifest["report"]!.AsObject();
        Assert.Equal(["calibrationTokens"], measured.Select(p => p.Key));
    }

    [Fact]
    public void AQualityReportEvaluatesWithoutTiming()
    {
        string output = tiny.NewPath(".moe");

        var (exit, stdout, stderr) = MoeProcess.Run([.. tiny.Convert(tiny.Model, output), "--report", "quality", "--json"]);

        Assert.True(exit == 0, stderr);
        JsonObject report = JsonNode.Parse(stdout)!.AsObject();
        Assert.True((double)report["densePerplexity"]! > 1);
        Assert.Null(report["decodeSpeedup"]);
        JsonObject measured = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "moe.json")))!["report"]!.AsObject();
        Assert.Equal("eval.txt", (string?)measured["evaluationText"]);
        Assert.NotNull(measured["moEPerplexity"]);
        Assert.NotNull(measured["conversionSeconds"]);
        Assert.Null(measured["decodeSpeedup"]);
    }

    [Fact]
    public void AnUnknownReportLevelIsOneLine()
    {
        var (exit, _, stderr) = MoeProcess.Run([.. tiny.Convert(tiny.Model, tiny.NewPath(".moe")), "--report", "some"]);

        Assert.Equal(1, exit);
        Assert.Contains("--report must be none, quality or full", stderr);
    }
}
