namespace MoESdk.Templates.Tests;

/// <summary>
/// MoESdk and MoESdk.Templates packed once per test run into a local feed (one version for both, as a release would
/// have), and the templates installed from the package file into a private template hive under the feed's root, so
/// the user's own templates are neither used nor changed.
/// </summary>
public sealed class InstalledTemplates : IDisposable
{
    private readonly LocalFeed _feed = new("moesdk-template-tests-",
        Path.Combine("msbuild", "MoESdk.Package", "MoESdk.Package.csproj"),
        Path.Combine("templates", "MoESdk.Templates", "MoESdk.Templates.csproj"));

    public InstalledTemplates()
    {
        try
        {
            DotNetResult install = DotNet.Run(Root, "new", "install", _feed.PackagePath("MoESdk.Templates"), "--debug:custom-hive", Hive);
            if (install.ExitCode != 0)
            {
                throw new InvalidOperationException($"dotnet new install failed:{Environment.NewLine}{install.Output}");
            }
            InstallOutput = install.Output;
        }
        catch
        {
            _feed.Dispose();
            throw;
        }
    }

    /// <summary>Temporary folder with the feed's NuGet.config: projects created here restore from the feed.</summary>
    public string Root => _feed.Root;

    /// <summary>The version of both packages; the templates' projects reference MoESdk at this version.</summary>
    public string Version => _feed.Version;

    public string InstallOutput { get; }

    private string Hive => Path.Combine(Root, "template-hive");

    /// <summary><c>dotnet new TEMPLATE -n NAME OPTIONS</c> in <see cref="Root"/>; the project is created in Root/NAME.</summary>
    internal DotNetResult New(string template, string name, params string[] options) =>
        DotNet.Run(Root, ["new", template, "-n", name, .. options, "--debug:custom-hive", Hive]);

    public void Dispose() => _feed.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TemplateProjects : ICollectionFixture<InstalledTemplates>
{
    /// <summary>One collection: the projects build one at a time and share one pair of packed packages.</summary>
    public const string Name = "template projects";
}
