using System.Reflection;

namespace MoESdk.Testing;

/// <summary>Paths in the repository the tests were built from (its root is compiled into the test assembly).</summary>
internal static class Repository
{
    public static string Root { get; } =
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The version Directory.Packages.props gives <paramref name="packageId"/>.</summary>
    public static string CentralPackageVersion(string packageId) =>
        System.Xml.Linq.XDocument.Load(Path.Combine(Root, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == packageId)
            .Attribute("Version")!.Value;

    /// <summary>The reference model kjv-llama (Hugging Face folder with tokenizer and data/).</summary>
    public static string ReferenceModel => Path.Combine(Root, "models", "kjv-llama");
}
