namespace MoESdk.Build.Tests;

/// <summary>
/// Convert once: Debug, Release and a RID-specific publish of one consumer share one conversion through the artifact
/// cache, new timestamps alone do not reconvert, and two builds from nothing give byte-identical artifacts.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class ArtifactCacheTests(PackedSdk sdk, ITestOutputHelper log)
{
    private const string Converted = "MoESdk: converted models/tiny";
    private const string Reused = "MoESdk: models/tiny: reused ";

    [Fact]
    public void DebugReleaseAndPublishConvertOnceAndCleanBuildsAreByteIdentical()
    {
        Consumer app = Consumer.Create(sdk, "cache", """<MoEModel Include="models/tiny" Experts="4" ExpertsPerToken="2" Method="factor" Calibration="data/x.txt" />""");
        TinyModel.Write(app.PathOf("models/tiny"));
        Directory.CreateDirectory(app.PathOf("data"));
        File.Copy(app.PathOf("models/tiny/data/calibration.txt"), app.PathOf("data/x.txt"));

        DotNetResult debug = app.Build();
        Assert.True(debug.ExitCode == 0, debug.Output);
        Assert.Equal(1, Count(debug.Output, Converted));
        log.WriteLine($"Debug build (converts): {debug.Elapsed.TotalSeconds:F1} s");
        byte[] manifest = File.ReadAllBytes(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/moe.json"));
        byte[] weights = File.ReadAllBytes(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/model.safetensors"));

        DotNetResult release = app.Build("-c", "Release");
        Assert.True(release.ExitCode == 0, release.Output);
        Assert.DoesNotContain(Converted, release.Output);
        Assert.Equal(1, Count(release.Output, Reused));
        log.WriteLine($"Release build (reuses): {release.Elapsed.TotalSeconds:F1} s");

        DotNetResult publish = DotNet.Run(app.Folder, "publish", "-v:n", "-r", "linux-x64", "-o", app.PathOf("out"));
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.DoesNotContain(Converted, publish.Output);
        Assert.Equal(1, Count(publish.Output, Reused));
        Assert.Equal(weights, File.ReadAllBytes(app.PathOf("out/tiny.moe/model.safetensors")));
        log.WriteLine($"publish -r linux-x64 (reuses): {publish.Elapsed.TotalSeconds:F1} s");

        // A checkout rewrites files with new timestamps and the same contents: hashed again, not converted, not copied.
        foreach (string file in Directory.GetFiles(app.PathOf("models/tiny"), "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
        }
        DotNetResult touched = app.Build();
        Assert.True(touched.ExitCode == 0, touched.Output);
        Assert.DoesNotContain(Converted, touched.Output);
        Assert.DoesNotContain(Reused, touched.Output);
        Assert.Contains("MoESdk: tiny.moe is up to date; conversion skipped", touched.Output);

        // From nothing again (obj/ and bin/ gone, cache included): the same bytes.
        Directory.Delete(app.PathOf("obj"), recursive: true);
        Directory.Delete(app.PathOf("bin"), recursive: true);
        DotNetResult again = app.Build();
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(1, Count(again.Output, Converted));
        Assert.Equal(manifest, File.ReadAllBytes(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/moe.json")));
        Assert.Equal(weights, File.ReadAllBytes(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/model.safetensors")));
    }

    private static int Count(string output, string text)
    {
        int count = 0;
        for (int at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
