using System.Text.Json;

namespace MoESdk.Build.Tests;

/// <summary>A consumer project converts its MoEModel at build time, incrementally, and runs the result.</summary>
[Collection(ConsumerBuilds.Name)]
public sealed class ConversionTests(PackedSdk sdk, ITestOutputHelper log)
{
    private const string Artifact = "obj/Debug/net10.0/moe/tiny.moe";

    [Fact]
    public void BuildConvertsOnceSkipsWhenUnchangedReconvertsOnNewSettingsRunsAndCleans()
    {
        Consumer app = Consumer.Create(sdk, "convert", Item(experts: 8));
        TinyModel.Write(app.PathOf("models/tiny"));
        Directory.CreateDirectory(app.PathOf("data"));
        File.Copy(app.PathOf("models/tiny/data/calibration.txt"), app.PathOf("data/x.txt"));
        string manifest = app.PathOf($"{Artifact}/moe.json");

        DotNetResult first = app.Build();
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("MoESdk: converted models/tiny", first.Output);
        Assert.Contains("MoESdk: models/tiny: calibrating:", first.Output);
        Assert.True(File.Exists(app.PathOf("bin/Debug/net10.0/tiny.moe/model.safetensors")));
        Assert.Equal(8, ExpertsIn(manifest));
        DateTime converted = File.GetLastWriteTimeUtc(manifest);
        log.WriteLine($"first build (restore, converter staging, conversion, compile): {first.Elapsed.TotalSeconds:F2} s wall clock; {BuildTime(first.Output)}");

        DotNetResult second = app.Build();
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("MoESdk: tiny.moe is up to date; conversion skipped", second.Output);
        Assert.DoesNotContain("MoESdk: converted", second.Output);
        Assert.Equal(converted, File.GetLastWriteTimeUtc(manifest));
        log.WriteLine($"no-op build: {second.Elapsed.TotalSeconds:F2} s wall clock for `dotnet build` (CLI start, restore and MSBuild); {BuildTime(second.Output)}");

        DotNetResult run = app.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("model tiny: 8 experts, top-2", run.Output);
        Assert.Contains("generated 16 tokens: ", run.Output);
        log.WriteLine(run.Output);

        app.WriteProject(Item(experts: 4));
        DotNetResult third = app.Build();
        Assert.True(third.ExitCode == 0, third.Output);
        Assert.Contains("MoESdk: converted models/tiny", third.Output);
        Assert.Equal(4, ExpertsIn(manifest));
        Assert.Contains("model tiny: 4 experts, top-2", app.Run().Output);

        app.WriteProject(Item(experts: 2));
        DotNetResult skipped = app.Build("-p:MoESkipConversion=true");
        Assert.True(skipped.ExitCode == 0, skipped.Output);
        Assert.Contains("MoESdk: MoESkipConversion is true; tiny.moe is used as it is", skipped.Output);
        Assert.Equal(4, ExpertsIn(manifest));

        DotNetResult published = DotNet.Run(app.Folder, "msbuild", "-t:ComputeResolvedFilesToPublishList", "-getItem:ResolvedFileToPublish");
        Assert.True(published.ExitCode == 0, published.Output);
        Assert.Contains("\"RelativePath\": \"tiny.moe/moe.json\"", published.Output);
        Assert.Contains("\"RelativePath\": \"tiny.moe/model.safetensors\"", published.Output);

        DotNetResult clean = app.Clean();
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.False(Directory.Exists(app.PathOf(Artifact)), "dotnet clean leaves the artifact");
        Assert.False(Directory.Exists(app.PathOf("bin/Debug/net10.0/tiny.moe")), "dotnet clean leaves the artifact's copy in the output");
    }

    private static string Item(int experts) =>
        $"""<MoEModel Include="models/tiny" Experts="{experts}" ExpertsPerToken="2" Method="factor" Calibration="data/x.txt" />""";

    private static int ExpertsIn(string manifest)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.GetProperty("layers")[0].GetProperty("experts").GetInt32();
    }

    /// <summary>MSBuild's own "Time Elapsed" line: the build without the CLI's start-up.</summary>
    private static string BuildTime(string output) =>
        output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("Time Elapsed", StringComparison.Ordinal)) ?? "no Time Elapsed line";
}
