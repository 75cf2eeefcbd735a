using System.Text.Json.Nodes;

namespace MoESdk.Cli.Tests;

/// <summary><c>moe sweep</c> on the tiny model: every recipe measured, the frontier written, a stopped sweep resumed.</summary>
public class SweepCommandTests(TinyModelFolder tiny) : IClassFixture<TinyModelFolder>
{
    // Training-free recipes on 4 slices of the tiny FFN: seconds each.
    private string[] Sweep(string output, string budgets = "0.5", string seed = "0") =>
        ["sweep", "--model", tiny.Model, "--calibration", tiny.Calibration, "--eval", tiny.EvalText, "--out", output,
            "--methods", "cluster,coact", "--granularities", "4", "--budgets", budgets, "--repetitions", "1", "--seed", seed, "--max-ppl-ratio", "50", "--json"];

    [Fact]
    public void EveryRecipeIsMeasuredAndARerunMeasuresOnlyWhatIsNew()
    {
        string output = tiny.NewPath();

        var (exit, stdout, stderr) = MoeProcess.Run(Sweep(output));

        Assert.True(exit == 0, stderr);
        JsonObject report = JsonNode.Parse(stdout)!.AsObject();
        JsonArray points = report["points"]!.AsArray();
        Assert.Equal(["--method cluster --experts 4 --experts-per-token 2", "--method coact --experts 3 --experts-per-token 1 --shared-experts 1"],
            points.Select(p => (string)p!["recipe"]!));
        Assert.All(points, p =>
        {
            Assert.True((double)p!["perplexityRatio"]! > 0.5);
            Assert.True((double)p["decodeSpeedup"]! > 0);
            Assert.InRange((double)p["activeFeedForwardRatio"]!, 0.4, 0.6);
            Assert.True(p.AsObject().ContainsKey("accuracyKept"));
        });
        JsonArray frontier = report["frontier"]!.AsArray();
        Assert.NotEmpty(frontier);
        Assert.Contains((string?)report["best"], points.Select(p => (string?)p!["recipe"]));
        string page = File.ReadAllText(Path.Combine(output, "frontier.html"));
        Assert.True(page.Split("class=\"point\"").Length - 1 >= 2, page);

        var (again, rerun, rerunErrors) = MoeProcess.Run(Sweep(output, budgets: "0.5,0.25"));

        Assert.True(again == 0, rerunErrors);
        // A quarter of 4 slices adds cluster top-1; coact's quarter is its 50 % recipe again (one shared + one routed), measured once.
        Assert.Contains("3 recipes: 2 measured before, 1 to convert", rerunErrors);
        JsonArray all = JsonNode.Parse(rerun)!["points"]!.AsArray();
        Assert.Equal(3, all.Count);
        // The first two were read back, not measured again: their timings are the first run's.
        Assert.Equal(points[0]!["conversionSeconds"]!.GetValue<double>(), all[0]!["conversionSeconds"]!.GetValue<double>());
    }

    [Fact]
    public void AStoppedSweepKeepsWhatItFinishedAndResumes()
    {
        string output = tiny.NewPath();
        string log = Path.Combine(output, "sweep.json");
        string[] args = Sweep(output, budgets: "0.5,0.25");
        using (var process = MoeProcess.Start(args))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!File.Exists(log) && DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(20);
            }
            MoeProcess.Signal(process, "INT");
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)));
            Assert.True(process.ExitCode is 130 or 0, process.StandardError.ReadToEnd());
        }
        int kept = JsonNode.Parse(File.ReadAllText(log))!["points"]!.AsArray().Count;
        Assert.InRange(kept, 1, 3);
        Assert.Empty(Directory.GetFiles(output, "*.tmp"));

        var (exit, stdout, stderr) = MoeProcess.Run(args);

        Assert.True(exit == 0, stderr);
        Assert.Contains($"3 recipes: {kept} measured before, {3 - kept} to convert", stderr);
        Assert.Equal(3, JsonNode.Parse(stdout)!["points"]!.AsArray().Count);
    }

    [Fact]
    public void ASweepOfOtherInputsIsNotMixedIn()
    {
        string output = tiny.NewPath();
        Assert.Equal(0, MoeProcess.Run(Sweep(output)).ExitCode);

        var (exit, _, stderr) = MoeProcess.Run(Sweep(output, seed: "1"));

        Assert.Equal(1, exit);
        Assert.Contains("holds a sweep of other inputs", stderr);
    }

    [Theory]
    [InlineData("--budgets", "0", "--budgets: 0 is not a share of the FFN")]
    [InlineData("--budgets", "a,b", "--budgets: 'a,b' is not a comma-separated list of numbers")]
    [InlineData("--methods", "factor,magic", "--methods: unknown method 'magic'; use some of factor, cluster, coact, tomoe")]
    [InlineData("--granularities", "1", "--granularities: 1 slices make no experts")]
    [InlineData("--max-ppl-ratio", "-1", "--max-ppl-ratio must be positive")]
    public void BadSettingsAreOneLineBeforeAnyWork(string option, string value, string expected)
    {
        string output = tiny.NewPath();
        string[] args = ["sweep", "--model", tiny.Model, "--calibration", tiny.Calibration, "--out", output, option, value];

        var (exit, _, stderr) = MoeProcess.Run(args);

        Assert.Equal(1, exit);
        Assert.Contains(expected, stderr);
        Assert.False(Directory.Exists(output));
    }
}
