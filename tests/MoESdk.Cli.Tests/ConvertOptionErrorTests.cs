using System.Text.Json;

namespace MoESdk.Cli.Tests;

/// <summary>
/// moe convert speaks its own vocabulary: the library's option errors (<c>ConversionOptions.ExpertsPerToken</c>) come out
/// naming the flags that set them, plainly and with --msbuild; the choices come from the library's enums; the old
/// <c>--top-k</c> still converts, with a warning.
/// </summary>
public class ConvertOptionErrorTests(TinyModelFolder tiny) : IClassFixture<TinyModelFolder>
{
    public static TheoryData<string[], string> OptionErrors => new()
    {
        { ["--method", "tomoe", "--experts-per-token", "2"], "tomoe routes each token to exactly one expert: set --experts-per-token to 1 (was 2)." },
        { ["--budget", "0.5"], "--budget applies to tomoe only; coact's active share is set by --experts-per-token over --experts." },
        { ["--experts", "4", "--experts-per-token", "9"], "--experts-per-token (experts run per token) must be between 1 and --experts (4), was 9." },
        { ["--method", "cluster", "--distill"], "--distill trains the experts alongside the PAR router; use it with the par router (--router; the default of factor)." },
    };

    [Theory]
    [MemberData(nameof(OptionErrors))]
    public void LibraryOptionErrorsNameTheFlags(string[] options, string message)
    {
        var (exit, _, stderr) = MoeProcess.Run([.. Convert(), .. options]);

        Assert.Equal(1, exit);
        Assert.Equal("error: " + message, stderr.Trim());
    }

    [Fact]
    public void WithMSBuildTheOptionErrorIsMoe1003NamingTheFlag()
    {
        var (exit, _, stderr) = MoeProcess.Run([.. Convert(), "--method", "tomoe", "--experts-per-token", "3", "--msbuild"]);

        Assert.Equal(1, exit);
        Assert.Equal("error MOE1003: tomoe routes each token to exactly one expert: set --experts-per-token to 1 (was 3).", stderr.Trim());
    }

    [Fact]
    public void AnUnknownMethodListsTheLibrarysMethods()
    {
        var (exit, _, stderr) = MoeProcess.Run([.. Convert(), "--method", "mixtral"]);

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --method 'mixtral' is not valid: use one of factor, cluster, coact, tomoe.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpOffersTheLibrarysChoicesAndSaysTopKIsDeprecated()
    {
        var (exit, stdout, _) = MoeProcess.Run("convert", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("--method <factor|cluster|coact|tomoe>", stdout, StringComparison.Ordinal);
        Assert.Contains("--router <analytic|par>", stdout, StringComparison.Ordinal);
        Assert.Contains("--experts-per-token", stdout, StringComparison.Ordinal);
        Assert.Contains("--top-k is its deprecated name", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void TopKStillSetsTheExpertsPerTokenWithAWarning()
    {
        string output = tiny.NewPath(".moe");
        var (exit, stdout, stderr) = MoeProcess.Run("convert", "--model", tiny.Model, "--out", output, "--calibration", tiny.Calibration,
            "--method", "factor", "--experts", "4", "--top-k", "3", "--router", "analytic", "--report", "none", "--json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("warning: --top-k is deprecated: use --experts-per-token", stderr, StringComparison.Ordinal);
        using JsonDocument report = JsonDocument.Parse(stdout);
        Assert.Equal(3, report.RootElement.GetProperty("expertsPerToken").GetInt32());
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "moe.json")));
        // The artifact's format is unchanged: each layer's experts per token is still its "topK".
        Assert.All(manifest.RootElement.GetProperty("layers").EnumerateArray(), layer => Assert.Equal(3, layer.GetProperty("topK").GetInt32()));
    }

    private string[] Convert() =>
        ["convert", "--model", tiny.Model, "--out", tiny.NewPath(".moe"), "--calibration", tiny.Calibration, "--report", "none"];
}
