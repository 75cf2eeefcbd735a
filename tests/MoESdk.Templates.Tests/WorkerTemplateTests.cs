using System.Text.RegularExpressions;

namespace MoESdk.Templates.Tests;

/// <summary>
/// <c>dotnet new moe-worker</c> with a model of the user's own (a small random-weight LLaMA, so the conversion takes
/// seconds) and every conversion option set: the worker logs a completion per configured prompt and exits with 0.
/// </summary>
[Collection(TemplateProjects.Name)]
public sealed partial class WorkerTemplateTests(InstalledTemplates templates, ITestOutputHelper log)
{
    [Fact]
    public void NewWorkerConvertsTheGivenModelLogsCompletionsAndExits()
    {
        string model = Path.Combine(templates.Root, "models", "tiny-bible");
        TinyModel.Write(model);
        DotNetResult created = templates.New("moe-worker", "Scribe",
            "--model", model, "--model-name", "tiny-bible", "--experts", "4", "--experts-per-token", "1", "--method", "factor", "--no-restore");
        Assert.True(created.ExitCode == 0, created.Output);
        string project = Path.Combine(templates.Root, "Scribe");
        Assert.False(Directory.Exists(Path.Combine(project, "models")), "the bundled model is copied although --model names another");
        string projectFile = File.ReadAllText(Path.Combine(project, "Scribe.csproj"));
        Assert.Contains($"""<MoEModel Include="{model}" OutputName="tiny-bible" Experts="4" ExpertsPerToken="1" Method="factor" />""", projectFile);
        Assert.Contains($"""<PackageReference Include="MoESdk" Version="{templates.Version}" />""", projectFile);
        Assert.Contains("builder.Services.AddTinyBibleMoE();", File.ReadAllText(Path.Combine(project, "Program.cs")));
        Assert.Contains("\"tiny-bible\": {", File.ReadAllText(Path.Combine(project, "appsettings.json")));

        DotNetResult build = DotNet.Run(project, "build", "-v:n");
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Contains($"MoESdk: converted {model}", build.Output);
        log.WriteLine($"dotnet build (restore and conversion included): {build.Elapsed.TotalSeconds:F1} s");

        DotNetResult run = DotNet.Run(project, TimeSpan.FromMinutes(3), "run", "--no-build");
        log.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        MatchCollection completions = Completion().Matches(run.Output);
        Assert.Equal(["1", "2", "3"], completions.Select(m => m.Groups["index"].Value));
        Assert.All(completions, m => Assert.True(int.Parse(m.Groups["tokens"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, m.Value));
        Assert.Contains("In the beginning →", run.Output);
        Assert.Contains("Generated 3 completions with tiny-bible; stopping", run.Output);
        log.WriteLine($"dotnet run: {run.Elapsed.TotalSeconds:F1} s");
    }

    [GeneratedRegex(@"Completion (?<index>\d)/3 \((?<tokens>\d+) tokens, 1 experts per token\)")]
    private static partial Regex Completion();
}
