using System.Text.Json;

namespace MoESdk.Build.Tests;

/// <summary>
/// What the source generator emits from the converted artifact, used by a real consumer: the DI registration
/// <c>AddTinyMoE()</c> in a generic host, configuration bound to the generated section, the item's load precision as a
/// default configuration overrides, the typed constants and
/// experts — and an expert the manifest does not have, which does not compile.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed class GeneratedApiTests(PackedSdk sdk, ITestOutputHelper log)
{
    // Precision: the generated registration's default load precision, which configuration overrides.
    private const string Item = """<MoEModel Include="models/tiny" Experts="4" ExpertsPerToken="2" Method="factor" Precision="bf16" />""";

    /// <summary>
    /// Warnings as errors, so the generated code must compile clean. NU1603 stays a warning, as in the repository's
    /// own build: the package sources lack some exact minimum versions of TorchSharp's and the tokenizer's
    /// dependencies, and the next patch is resolved.
    /// </summary>
    private const string StrictProperties = "<TreatWarningsAsErrors>true</TreatWarningsAsErrors><NoWarn>$(NoWarn);NU1603</NoWarn>";

    private const string HostingReference = """<PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.0" />""";

    /// <summary>
    /// Registers the model with the generated extension, starts the host (options validated, model warmed), resolves
    /// it from DI and generates; prints the generated constants and typed experts beside what the runtime loaded.
    /// </summary>
    private const string HostedProgram = """
        using Consumer;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using MoESdk.Serving;

        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddTinyMoE();
        using IHost host = builder.Build();
        await host.StartAsync();

        IMoEModel model = host.Services.GetRequiredService<IMoEModel>();
        IMoEModel keyed = host.Services.GetRequiredKeyedService<IMoEModel>(TinyMoE.ModelName);
        MoEGenerationResult result = await model.GenerateAsync("In the beginning", new MoEGenerationOptions { MaxTokens = 16 });

        MoESdk.Runtime.ExpertId expert = TinyMoE.Experts.Layer1.Expert2;
        Console.WriteLine($"generated: name={TinyMoE.ModelName} layers={TinyMoE.Layers} experts={TinyMoE.ExpertsPerLayer} topK={TinyMoE.ExpertsPerToken} hidden={TinyMoE.HiddenSize} vocab={TinyMoE.VocabSize} method={TinyMoE.Method} section={TinyMoE.ConfigurationSection}");
        Console.WriteLine($"typed: {expert}; its router has {TinyMoE.Routers[expert.Layer.Index].Experts} experts, top-{TinyMoE.Routers[expert.Layer.Index].ExpertsPerToken}; layer 1 lists {TinyMoE.Experts.Layer1.All.Count}");
        Console.WriteLine($"served: name={model.Info.Name} layers={model.Info.Layers} experts={string.Join(',', model.Info.ExpertsPerLayer)} topK={model.Info.DefaultExpertsPerToken} keyed={ReferenceEquals(model, keyed)}");
        Console.WriteLine($"loaded from: {model.Info.Source}");
        Console.WriteLine($"precision: {model.Info.DecodePrecision}");
        // Every expert the router chose is one of the generated identities of its layer.
        var chosen = result.Tokens.SelectMany(token => token.Experts[1]).Distinct().Order().Select(index => TinyMoE.Experts.Layer1.All[index]);
        Console.WriteLine($"layer 1 experts used: {string.Join("; ", chosen)}");
        Console.WriteLine($"generated {result.Tokens.Count} tokens: {result.Text}");
        await host.StopAsync();
        """;

    /// <summary>The model has layers 0..1 with experts 0..3: Layer1.Expert3 exists, Layer1.Expert4 and Layer2 do not.</summary>
    private const string WrongExpertProgram = """
        using Consumer;

        Console.WriteLine(TinyMoE.Experts.Layer1.Expert3);
        Console.WriteLine(TinyMoE.Experts.Layer1.Expert4);
        Console.WriteLine(TinyMoE.Experts.Layer2.Expert0);
        """;

    [Fact]
    public void GeneratedRegistrationServesTheModelWithTypedConstantsFromTheManifestAndMissingExpertsDoNotCompile()
    {
        Consumer app = Consumer.Create(sdk, "hosted", Item, StrictProperties, HostedProgram, HostingReference);
        TinyModel.Write(app.PathOf("models/tiny"));

        DotNetResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.Output);
        log.WriteLine($"build (restore, converter staging, conversion, compile): {build.Elapsed.TotalSeconds:F1} s");

        DotNetResult run = app.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        log.WriteLine(run.Output);
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(app.PathOf("obj/Debug/net10.0/moe/tiny.moe/moe.json")));
        JsonElement root = manifest.RootElement;
        JsonElement layer = root.GetProperty("layers")[0];
        JsonElement architecture = root.GetProperty("architecture");
        int experts = layer.GetProperty("experts").GetInt32();
        int topK = layer.GetProperty("topK").GetInt32();
        Assert.Equal((4, 2), (experts, topK));
        Assert.Contains(
            $"generated: name={root.GetProperty("name").GetString()} layers={root.GetProperty("layers").GetArrayLength()} experts={experts} topK={topK} " +
            $"hidden={architecture.GetProperty("hiddenSize").GetInt32()} vocab={architecture.GetProperty("vocabSize").GetInt32()} " +
            $"method={root.GetProperty("method").GetProperty("name").GetString()} section=MoE:Models:tiny",
            run.Output);
        Assert.Contains($"typed: layer 1, expert 2; its router has {experts} experts, top-{topK}; layer 1 lists {experts}", run.Output);
        Assert.Contains($"served: name=tiny layers={TinyModel.Layers} experts={experts},{experts} topK={topK} keyed=True", run.Output);
        // The generated default path: the copy of the artifact in the output folder.
        Assert.Contains($"loaded from: {app.PathOf("bin/Debug/net10.0/tiny.moe")}", run.Output);
        Assert.Contains("precision: BFloat16", run.Output);
        Assert.Matches(@"layer 1 experts used: layer 1, expert \d", run.Output);
        Assert.Matches(@"generated 16 tokens: \S", run.Output);

        // Configuration binds to the section the generated class names, and the generated default path stays.
        DotNetResult configured = app.Run("--MoE:Models:tiny:TopK=1", "--MoE:Models:tiny:Precision=Int8");
        Assert.True(configured.ExitCode == 0, configured.Output);
        Assert.Contains("precision: Int8", configured.Output);
        Assert.Contains($"served: name=tiny layers={TinyModel.Layers} experts={experts},{experts} topK=1 keyed=True", configured.Output);

        // Validated on start, under the key the generated section names.
        DotNetResult invalid = app.Run("--MoE:Models:tiny:TopK=9");
        Assert.NotEqual(0, invalid.ExitCode);
        Assert.Contains("MoE:Models:tiny:TopK", invalid.Output);

        // An expert or layer the manifest does not have is a compile error, not a runtime one.
        app.WriteProgram(WrongExpertProgram);
        DotNetResult wrong = app.Build();
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("MoESdk: tiny.moe is up to date; conversion skipped", wrong.Output);
        string[] errors = wrong.Output.Split('\n').Where(line => line.Contains(": error ", StringComparison.Ordinal)).Distinct().ToArray();
        log.WriteLine(string.Join('\n', errors));
        Assert.Contains(errors, line => line.Contains("Program.cs(4,", StringComparison.Ordinal)
            && line.Contains("error CS0117: 'TinyMoE.Experts.Layer1' does not contain a definition for 'Expert4'", StringComparison.Ordinal));
        Assert.Contains(errors, line => line.Contains("Program.cs(5,", StringComparison.Ordinal)
            && line.Contains("error CS0117: 'TinyMoE.Experts' does not contain a definition for 'Layer2'", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, line => line.Contains("Program.cs(3,", StringComparison.Ordinal));
    }
}
