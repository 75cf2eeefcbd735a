using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MoESdk.Build.Tests;

/// <summary>
/// What the packed MoESdk package says about itself and ships for debugging: license, repository URL and commit in the
/// nuspec; a symbols package with the pdbs of lib/ that match their assemblies; source links to the repository at that
/// commit in every pdb, the symbol package's and those the tools embed. Reads the package the collection packed once.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class PackageMetadataTests(PackedSdk sdk)
{
    private const string RepositoryUrl = "https://github.com/moesdk/moesdk";

    /// <summary>The key of the SourceLink JSON among a pdb's custom debug information.</summary>
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [Fact]
    public void NuspecNamesLicenseRepositoryAndCommit()
    {
        using ZipArchive package = ZipFile.OpenRead(sdk.PackagePath);
        XElement metadata = Nuspec(package);
        XNamespace ns = metadata.Name.Namespace;

        XElement license = metadata.Element(ns + "license")!;
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);

        XElement repository = metadata.Element(ns + "repository")!;
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Equal(RepositoryUrl, repository.Attribute("url")?.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
        Assert.Equal(RepositoryUrl, metadata.Element(ns + "projectUrl")?.Value);
    }

    [Fact]
    public void SymbolsPackageHoldsThePdbsOfLibBesideTheirAssemblies()
    {
        using ZipArchive package = ZipFile.OpenRead(sdk.PackagePath);
        using ZipArchive symbols = ZipFile.OpenRead(sdk.SymbolsPackagePath);

        Assert.DoesNotContain(package.Entries, e => e.FullName.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase));
        string[] pdbs = symbols.Entries.Select(e => e.FullName).Where(n => n.EndsWith(".pdb", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["lib/net10.0/MoESdk.Hosting.pdb", "lib/net10.0/MoESdk.pdb"], pdbs);

        string commit = Commit(package);
        foreach (string pdb in pdbs)
        {
            string assembly = Path.ChangeExtension(pdb, ".dll");
            using var peReader = new PEReader(new MemoryStream(Read(package, assembly)));
            using var pdbProvider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(Read(symbols, pdb)));
            MetadataReader reader = pdbProvider.GetMetadataReader();

            // The debugger pairs an assembly with its pdb by this id; a pdb of another build would not load.
            CodeViewDebugDirectoryData codeView = peReader.ReadCodeViewDebugDirectoryData(peReader.ReadDebugDirectory().Single(d => d.Type == DebugDirectoryEntryType.CodeView));
            Assert.Equal(codeView.Guid, new Guid(reader.DebugMetadataHeader!.Id.AsSpan(0, 16)));
            AssertSourceLinkToCommit(reader, commit, pdb);
        }
    }

    [Theory]
    [InlineData("analyzers/dotnet/cs/MoESdk.Generators.dll")]
    [InlineData("tasks/netstandard2.0/MoESdk.Build.dll")]
    [InlineData("tools/net10.0/any/moe.dll")]
    public void ToolAssembliesEmbedTheirPdbWithSourceLink(string assembly)
    {
        using ZipArchive package = ZipFile.OpenRead(sdk.PackagePath);
        using var peReader = new PEReader(new MemoryStream(Read(package, assembly)));
        DebugDirectoryEntry embedded = Assert.Single(peReader.ReadDebugDirectory(), d => d.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
        using MetadataReaderProvider pdbProvider = peReader.ReadEmbeddedPortablePdbDebugDirectoryData(embedded);

        AssertSourceLinkToCommit(pdbProvider.GetMetadataReader(), Commit(package), assembly);
    }

    [Fact]
    public void PackageShipsThePropertyPageRule()
    {
        using ZipArchive package = ZipFile.OpenRead(sdk.PackagePath);
        Assert.Contains(package.Entries, e => e.FullName == "build/MoEModel.xaml");
    }

    /// <summary>Every source path of the pdb maps to the repository's files at the packed commit.</summary>
    private static void AssertSourceLinkToCommit(MetadataReader pdb, string commit, string name)
    {
        BlobHandle blob = pdb.GetCustomDebugInformation(EntityHandle.ModuleDefinition)
            .Select(pdb.GetCustomDebugInformation)
            .Where(info => pdb.GetGuid(info.Kind) == SourceLinkKind)
            .Select(info => info.Value)
            .SingleOrDefault();
        Assert.False(blob.IsNil, $"{name} has no source link");
        using JsonDocument sourceLink = JsonDocument.Parse(pdb.GetBlobBytes(blob));
        string[] targets = sourceLink.RootElement.GetProperty("documents").EnumerateObject().Select(p => p.Value.GetString()!).ToArray();
        Assert.NotEmpty(targets);
        Assert.All(targets, target => Assert.Equal($"https://raw.githubusercontent.com/moesdk/moesdk/{commit}/*", target));
    }

    private static XElement Nuspec(ZipArchive package)
    {
        ZipArchiveEntry entry = Assert.Single(package.Entries, e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using Stream stream = entry.Open();
        XElement root = XDocument.Load(stream).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    private static string Commit(ZipArchive package)
    {
        XElement metadata = Nuspec(package);
        string commit = metadata.Element(metadata.Name.Namespace + "repository")?.Attribute("commit")?.Value ?? "";
        Assert.Matches(new Regex("^[0-9a-f]{40}$"), commit);
        return commit;
    }

    private static byte[] Read(ZipArchive archive, string path)
    {
        ZipArchiveEntry entry = archive.GetEntry(path) ?? throw new Xunit.Sdk.XunitException($"{path} is not in the package");
        using Stream stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
