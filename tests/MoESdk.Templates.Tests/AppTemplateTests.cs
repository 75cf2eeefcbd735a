using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MoESdk.Templates.Tests;

/// <summary><c>dotnet new moe-app</c> with its defaults: the bundled reference model, converted at build time and served on Kestrel.</summary>
[Collection(TemplateProjects.Name)]
public sealed class AppTemplateTests(InstalledTemplates templates, ITestOutputHelper log)
{
    [Fact]
    public async Task NewAppBuildsTheBundledModelAndAnswersChatRequests()
    {
        var clock = Stopwatch.StartNew();
        DotNetResult created = templates.New("moe-app", "Demo");
        Assert.True(created.ExitCode == 0, created.Output);
        string project = Path.Combine(templates.Root, "Demo");
        Assert.Contains("Restore succeeded", created.Output);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Repository.ReferenceModel, "model.safetensors")),
            File.ReadAllBytes(Path.Combine(project, "models", "kjv-llama", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(project, "models", "kjv-llama", "data", "calibration.txt")));
        Assert.False(File.Exists(Path.Combine(project, "models", "kjv-llama", "data", "train.txt")), "the template ships the model's training data");
        Assert.Contains($"""<PackageReference Include="MoESdk" Version="{templates.Version}" />""", File.ReadAllText(Path.Combine(project, "Demo.csproj")));
        Assert.Contains("builder.Services.AddKjvLlamaMoE();", File.ReadAllText(Path.Combine(project, "Program.cs")));
        log.WriteLine($"dotnet new (with restore): {created.Elapsed.TotalSeconds:F1} s");
        AssertBackendPackages(project);

        DotNetResult build = DotNet.Run(project, "build", "-v:n");
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Contains("MoESdk: converted models/kjv-llama", build.Output);
        log.WriteLine($"dotnet build (conversion of the reference model included): {build.Elapsed.TotalSeconds:F1} s");

        string url = $"http://127.0.0.1:{RunningApp.FreePort()}";
        using RunningApp app = RunningApp.Start(project, "--urls", url);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        await WaitUntilHealthyAsync(app, http);
        log.WriteLine($"healthy after {clock.Elapsed.TotalSeconds:F1} s in all");

        using HttpResponseMessage chat = await http.PostAsJsonAsync("/chat", new { message = "In the beginning", maxTokens = 24 });
        string chatBody = await chat.Content.ReadAsStringAsync();
        Assert.True(chat.StatusCode == HttpStatusCode.OK, $"{chat.StatusCode}: {chatBody}{Environment.NewLine}{app.Output}");
        using JsonDocument reply = JsonDocument.Parse(chatBody);
        string text = reply.RootElement.GetProperty("reply").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(text), chatBody);
        log.WriteLine($"POST /chat: {chatBody}");

        using HttpResponseMessage stream = await http.PostAsJsonAsync("/chat/stream", new { message = "And God said", maxTokens = 8 });
        string events = await stream.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        Assert.Contains("event: text", events);
        Assert.Contains("data: ", events);

        using HttpResponseMessage invalid = await http.PostAsJsonAsync("/chat", new { message = "", maxTokens = 24 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("message", await invalid.Content.ReadAsStringAsync());
        log.WriteLine($"whole test: {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// MoESdkTorchBackend picks the one libtorch package the project references (evaluated as the restore would see it:
    /// the CUDA packages themselves are not restored here).
    /// </summary>
    private static void AssertBackendPackages(string project)
    {
        foreach ((string? backend, string package) in new[] { (null, "TorchSharp-cpu"), ("cpu", "TorchSharp-cpu"), ("cuda-linux", "TorchSharp-cuda-linux"), ("cuda-windows", "TorchSharp-cuda-windows") })
        {
            string[] property = backend is null ? [] : [$"-p:MoESdkTorchBackend={backend}"];
            DotNetResult evaluated = DotNet.Run(project, ["msbuild", "Demo.csproj", "-getItem:PackageReference", .. property]);
            Assert.True(evaluated.ExitCode == 0, evaluated.Output);
            using JsonDocument items = JsonDocument.Parse(evaluated.Output[evaluated.Output.IndexOf('{', StringComparison.Ordinal)..]);
            string[] torch = items.RootElement.GetProperty("Items").GetProperty("PackageReference").EnumerateArray()
                .Select(item => item.GetProperty("Identity").GetString()!)
                .Where(id => id.StartsWith("TorchSharp", StringComparison.Ordinal))
                .ToArray();
            Assert.Equal([package], torch);
        }
    }

    /// <summary>Polls /health until the model is loaded and warm; fails at once if the app exits.</summary>
    private static async Task WaitUntilHealthyAsync(RunningApp app, HttpClient http)
    {
        DateTime deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            Assert.False(app.HasExited, $"the app exited before it was healthy:{Environment.NewLine}{app.Output}");
            try
            {
                using HttpResponseMessage health = await http.GetAsync("/health");
                if (health.StatusCode == HttpStatusCode.OK && await health.Content.ReadAsStringAsync() == "Healthy")
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Kestrel is not listening yet.
            }
            Assert.True(DateTime.UtcNow < deadline, $"/health did not report Healthy within 2 minutes:{Environment.NewLine}{app.Output}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }
}
