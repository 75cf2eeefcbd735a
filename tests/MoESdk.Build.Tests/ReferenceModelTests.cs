using System.Text.RegularExpressions;

namespace MoESdk.Build.Tests;

/// <summary>
/// The repository's trained reference model, kjv-llama, converted by a consumer's build and served through the
/// generated registration as an <c>IChatClient</c>: the text it writes is English of its training corpus, and a
/// second build with nothing changed converts nothing.
/// </summary>
[Collection(ConsumerBuilds.Name)]
public sealed partial class ReferenceModelTests(PackedSdk sdk, ITestOutputHelper log)
{
    private const string Program = """
        using Consumer;
        using Microsoft.Extensions.AI;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddKjvLlamaMoE();
        using IHost host = builder.Build();
        await host.StartAsync();

        IChatClient chat = host.Services.GetRequiredService<IChatClient>();
        ChatResponse response = await chat.GetResponseAsync("And God said", new ChatOptions { MaxOutputTokens = 48, Temperature = 0 });
        Console.WriteLine($"model {KjvLlamaMoE.ModelName}: {KjvLlamaMoE.Layers} layers, {KjvLlamaMoE.ExpertsPerLayer} experts, top-{KjvLlamaMoE.ExpertsPerToken}");
        Console.WriteLine($"text: {response.Text.ReplaceLineEndings(" ")}");
        await host.StopAsync();
        """;

    private static string ReferenceModel => Repository.ReferenceModel;

    [Fact]
    public void ConsumerOfTheReferenceModelWritesCorpusEnglishAndRebuildsWithoutConverting()
    {
        Consumer app = Consumer.Create(sdk, "reference",
            $"""<MoEModel Include="{ReferenceModel}" Calibration="data/calibration.txt" />""",
            program: Program,
            references: """<PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.0" />""");
        WriteCalibration(app.PathOf("data/calibration.txt"));

        DotNetResult first = app.Build();
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains($"MoESdk: converted {ReferenceModel}", first.Output);
        log.WriteLine($"first build (restore, converter staging, conversion of kjv-llama, compile): {first.Elapsed.TotalSeconds:F1} s; {BuildTime(first.Output)}");
        // The converter's dense-vs-MoE report, as the build log shows it.
        log.WriteLine(string.Join('\n', first.Output.Split('\n').Where(l => l.Contains("│ perplexity", StringComparison.Ordinal) || l.Contains("│ mean KL", StringComparison.Ordinal))));

        DotNetResult run = app.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        log.WriteLine(run.Output);
        // The default recipe: coact, 31 routed experts and a shared one, 7 routed per token.
        Assert.Contains("model kjv-llama: 5 layers, 31 experts, top-7", run.Output);
        string text = run.Output.Split('\n').Single(line => line.StartsWith("text: ", StringComparison.Ordinal))["text: ".Length..];
        string[] words = Words(text).ToArray();
        HashSet<string> vocabulary = Words(File.ReadAllText(Path.Combine(ReferenceModel, "data", "train.txt"))).ToHashSet();
        string[] known = words.Where(vocabulary.Contains).ToArray();
        log.WriteLine($"{known.Length} of {words.Length} words are in the training text");
        Assert.True(words.Length >= 10, $"too few words to judge: '{text}'");
        Assert.True(known.Length >= 0.8 * words.Length, $"only {known.Length} of {words.Length} words are in the training text: '{text}'");

        DotNetResult second = app.Build();
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("MoESdk: kjv-llama.moe is up to date; conversion skipped", second.Output);
        Assert.DoesNotContain("MoESdk: converted", second.Output);
        log.WriteLine($"no-op build: {second.Elapsed.TotalSeconds:F1} s wall clock for `dotnet build`; MSBuild {BuildTime(second.Output)}");
    }

    /// <summary>
    /// The first verses of the model's calibration text, about 1,500 tokens: enough for the analytic routers of 8
    /// experts over a 256-wide hidden state, and it keeps this build's conversion (calibration and the converter's
    /// dense-vs-MoE evaluation run over it) to seconds rather than the minutes of the whole text.
    /// </summary>
    private static void WriteCalibration(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var verses = new List<string>();
        int length = 0;
        foreach (string verse in File.ReadLines(Path.Combine(ReferenceModel, "data", "calibration.txt")).TakeWhile(_ => length < 6000))
        {
            verses.Add(verse);
            length += verse.Length + 1;
        }
        File.WriteAllLines(path, verses);
    }

    /// <summary>Lower-case words: letters with inner apostrophes (KJV's "father's"), no punctuation.</summary>
    private static IEnumerable<string> Words(string text) => WordPattern().Matches(text).Select(m => m.Value.ToLowerInvariant());

    [GeneratedRegex(@"[A-Za-z]+(?:'[A-Za-z]+)*")]
    private static partial Regex WordPattern();

    /// <summary>MSBuild's own "Time Elapsed" line: the build without the CLI's start-up.</summary>
    private static string BuildTime(string output) =>
        output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("Time Elapsed", StringComparison.Ordinal)) ?? "no Time Elapsed line";
}
