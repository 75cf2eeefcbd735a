namespace MoESdk.Build.Tests;

/// <summary>
/// A console app in its own folder under the package's test root that references the packed MoESdk package,
/// declares one MoEModel item and, when run, opens the converted artifact through the generated class and
/// generates text with it.
/// </summary>
internal sealed class Consumer
{
    private const string ProgramText = """
        using MoESdk;
        using MoESdk.Inference;

        // TinyMoE is generated from the artifact's moe.json by the package's source generator.
        using LanguageModel model = LanguageModel.Open(Path.Combine(AppContext.BaseDirectory, Consumer.TinyMoE.ArtifactPath));
        using var session = new InferenceSession(model.Model);
        var tokenizer = model.RequireTokenizer();
        var tokens = session.Generate(tokenizer.Encode("In the beginning", addBos: true), new GenerationOptions { MaxTokens = 16 }).ToList();
        Console.WriteLine($"model {Consumer.TinyMoE.ModelName}: {Consumer.TinyMoE.ExpertsPerLayer} experts, top-{Consumer.TinyMoE.ExpertsPerToken}");
        Console.WriteLine($"generated {tokens.Count} tokens: {tokenizer.Decode(tokens)}");
        """;

    // The libtorch build every consumer picks, as the package README asks (MoESdk depends on TorchSharp's managed part).
    private static readonly string TorchBackend =
        $"""<PackageReference Include="TorchSharp-cpu" Version="{Repository.CentralPackageVersion("TorchSharp")}" />""";

    private readonly PackedSdk _sdk;
    private readonly string _references;

    private Consumer(PackedSdk sdk, string folder, string references)
    {
        _sdk = sdk;
        Folder = folder;
        _references = references;
    }

    public string Folder { get; }

    /// <summary>
    /// Creates the project; <paramref name="items"/> and <paramref name="properties"/> are written into it as they are.
    /// <paramref name="program"/> replaces the default Program.cs; <paramref name="references"/> (PackageReference
    /// items, with versions: the consumer is outside the repository's central package management) join MoESdk's and the
    /// TorchSharp-cpu backend's, which <paramref name="torchBackend"/> false leaves out.
    /// </summary>
    public static Consumer Create(PackedSdk sdk, string name, string items, string properties = "", string? program = null, string references = "", bool torchBackend = true)
    {
        var consumer = new Consumer(sdk, Path.Combine(sdk.Root, name), torchBackend ? TorchBackend + references : references);
        Directory.CreateDirectory(consumer.Folder);
        consumer.WriteProgram(program ?? ProgramText);
        consumer.WriteProject(items, properties);
        return consumer;
    }

    public string PathOf(string relative) => Path.Combine(Folder, relative);

    public void WriteProgram(string text) => File.WriteAllText(PathOf("Program.cs"), text);

    public void WriteProject(string items, string properties = "") => File.WriteAllText(PathOf("Consumer.csproj"), $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
            <RootNamespace>Consumer</RootNamespace>
            {properties}
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="MoESdk" Version="{_sdk.Version}" />
            {_references}
            {items}
          </ItemGroup>
        </Project>
        """);

    public DotNetResult Build(params string[] arguments) => DotNet.Run(Folder, ["build", "-v:n", .. arguments]);

    /// <summary>Runs the built app; <paramref name="arguments"/> go to the app itself.</summary>
    public DotNetResult Run(params string[] arguments) => DotNet.Run(Folder, ["run", "--no-build", "--", .. arguments]);

    public DotNetResult Clean() => DotNet.Run(Folder, "clean");
}
