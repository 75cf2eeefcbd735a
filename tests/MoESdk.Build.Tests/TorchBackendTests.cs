namespace MoESdk.Build.Tests;

/// <summary>
/// MoESdk brings TorchSharp's managed part only: an app without a libtorch backend package fails at build time with
/// MOE1009 naming the packages to add, while a class library (whose app picks the backend) builds.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class TorchBackendTests(PackedSdk sdk)
{
    [Fact]
    public void AppWithoutBackendFailsNamingThePackagesAndLibraryBuilds()
    {
        Consumer app = Consumer.Create(sdk, "no-backend", "", program: """Console.WriteLine("never runs");""", torchBackend: false);

        DotNetResult build = app.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error MOE1009", build.Output);
        Assert.Contains($"""<PackageReference Include="TorchSharp-cpu" Version="{Repository.CentralPackageVersion("TorchSharp")}" />""", build.Output);
        Assert.Contains("TorchSharp-cuda-linux", build.Output);

        app.WriteProgram("namespace Consumer; public static class Greeting { public static string Text => \"no libtorch needed\"; }");
        DotNetResult library = app.Build("-p:OutputType=Library");
        Assert.True(library.ExitCode == 0, library.Output);
        Assert.DoesNotContain("MOE1009", library.Output);
    }
}
