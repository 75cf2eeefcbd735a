namespace MoESdk.Build.Tests;

/// <summary>
/// The compile an IDE runs to feed its editor (Visual Studio, C# Dev Kit): Compile alone, with the design-time
/// properties, never the rest of the build. It must see the converted artifacts, never convert, and before the first
/// conversion say how to get the generated API instead of a bare compiler error.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class DesignTimeBuildTests(PackedSdk sdk)
{
    private const string Manifest = "obj/Debug/net10.0/moe/tiny.moe/moe.json";

    [Fact]
    public void DesignTimeCompileWarnsBeforeTheFirstConversionAndCompilesTheGeneratedApiAfterIt()
    {
        // Include names the model's config.json, as users often do: it means the model's folder. DType stores the artifact in bfloat16.
        Consumer app = Consumer.Create(sdk, "design-time", """<MoEModel Include="models/tiny/config.json" Experts="4" ExpertsPerToken="2" Method="cluster" DType="bf16" />""");
        TinyModel.Write(app.PathOf("models/tiny"));
        Assert.Equal(0, DotNet.Run(app.Folder, "restore").ExitCode);

        DotNetResult before = DesignTimeCompile(app);
        Assert.Contains("warning MOE1008", before.Output);
        Assert.Contains("MoEModel 'models/tiny/config.json' has not been converted yet", before.Output);
        Assert.False(File.Exists(app.PathOf(Manifest)), "a design-time build converted the model");

        DotNetResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.True(File.Exists(app.PathOf(Manifest)));
        Assert.Contains("\"dtype\":\"BF16\"", SafetensorsHeader(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/model.safetensors")));

        DotNetResult arguments = DotNet.Run(app.Folder, [.. DesignTimeProperties, "-p:SkipCompilerExecution=true", "-p:ProvideCommandLineArgs=true", "-getItem:CscCommandLineArgs"]);
        Assert.True(arguments.ExitCode == 0, arguments.Output);
        Assert.Contains("/additionalfile:", arguments.Output);
        Assert.Contains("tiny.moe/moe.json", arguments.Output);

        DotNetResult after = DesignTimeCompile(app);
        Assert.True(after.ExitCode == 0, after.Output);
        Assert.DoesNotContain("error CS", after.Output);
        Assert.DoesNotContain("MOE1008", after.Output);
        Assert.DoesNotContain("MoESdk: converted", after.Output);
    }

    private static readonly string[] DesignTimeProperties =
        ["msbuild", "-t:Compile", "-p:DesignTimeBuild=true", "-p:BuildingInsideVisualStudio=true", "-nologo"];

    /// <summary>The design-time compile with the compiler running, so that its errors (or their absence) show.</summary>
    private static DotNetResult DesignTimeCompile(Consumer app) => DotNet.Run(app.Folder, [.. DesignTimeProperties, "-v:n"]);

    /// <summary>The JSON header of a safetensors file: an 8-byte little-endian length, then the header.</summary>
    private static string SafetensorsHeader(string path)
    {
        using FileStream file = File.OpenRead(path);
        var length = new byte[8];
        file.ReadExactly(length);
        var header = new byte[BitConverter.ToInt64(length)];
        file.ReadExactly(header);
        return System.Text.Encoding.UTF8.GetString(header);
    }
}
