using System.Diagnostics;
using System.Text.Json;
using MoESdk.Testing;

namespace MoESdk.Hosting.Tests;

/// <summary>
/// The official OpenAI client for Node.js (npm <c>openai</c>, restored from the registry on first use) against the
/// sample app on real Kestrel: text completions and chat completions, whole and streamed with usage, as its users call
/// them. What the client parses is printed as JSON by the script and checked here.
/// </summary>
[Collection(ModelCollection.Name)]
[Trait("Category", "Conformance")]
public sealed class OpenAiNodeClientTests(TestModels models)
{
    private const string Version = "5.23.2";

    private const string Script = """
        import OpenAI from 'CLIENT';
        const client = new OpenAI({ apiKey: 'unused', baseURL: process.argv[2] });
        const completion = await client.completions.create({ model: 'kjv-llama', prompt: 'And God said', max_tokens: 8, temperature: 0 });
        let streamed = '', finish = null, usage = null;
        for await (const chunk of await client.completions.create({ model: 'kjv-llama', prompt: 'And God said', max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
          if (chunk.choices.length > 0) { streamed += chunk.choices[0].text; finish = chunk.choices[0].finish_reason ?? finish; }
          if (chunk.usage) usage = chunk.usage;
        }
        const chat = await client.chat.completions.create({ model: 'kjv-llama', messages: [{ role: 'user', content: 'And God said' }], max_tokens: 8, temperature: 0 });
        let error = null;
        try { await client.completions.create({ model: 'kjv-llama', prompt: 'x', max_tokens: 4, logprobs: 2 }); }
        catch (e) { error = { status: e.status, param: e.param, code: e.code ?? null }; }
        console.log(JSON.stringify({ completion, streamed, finish, usage, chat, error }));
        """;

    [Fact]
    public async Task TheNodeClientReadsTextCompletionsWholeAndStreamedAndTheirErrors()
    {
        string client = Restore();
        await using SampleServer server = await SampleServer.StartAsync(models);
        string folder = Directory.CreateTempSubdirectory("moesdk-openai-node-").FullName;
        try
        {
            string script = Path.Combine(folder, "client.mjs");
            File.WriteAllText(script, Script.Replace("CLIENT", new Uri(Path.Combine(client, "index.mjs")).AbsoluteUri, StringComparison.Ordinal));
            JsonElement result = JsonDocument.Parse(await RunNodeAsync(script, new Uri(server.Address, "v1").AbsoluteUri)).RootElement;

            JsonElement completion = result.GetProperty("completion");
            Assert.Equal("text_completion", completion.GetProperty("object").GetString());
            string text = completion.GetProperty("choices")[0].GetProperty("text").GetString()!;
            Assert.False(string.IsNullOrEmpty(text));
            Assert.Equal(text, result.GetProperty("streamed").GetString());
            Assert.Equal(completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), result.GetProperty("finish").GetString());
            Assert.Equal(completion.GetProperty("usage").GetProperty("total_tokens").GetInt32(), result.GetProperty("usage").GetProperty("total_tokens").GetInt32());
            Assert.Equal("assistant", result.GetProperty("chat").GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
            JsonElement error = result.GetProperty("error");
            Assert.Equal(400, error.GetProperty("status").GetInt32());
            Assert.Equal("logprobs", error.GetProperty("param").GetString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The client's package folder in the npm cache, packed from the registry the first time.</summary>
    private static string Restore()
    {
        string folder = Path.Combine(NpmPackage.CacheRoot, "npm", $"openai-{Version}");
        if (File.Exists(Path.Combine(folder, "index.mjs")))
        {
            return folder;
        }
        string staging = Directory.CreateTempSubdirectory("moesdk-npm-").FullName;
        try
        {
            string tarball = NpmPackage.Pack("openai", Version, staging, "the official OpenAI client the API conformance tests run");
            string extracted = Path.Combine(staging, "openai");
            NpmPackage.Extract(tarball, extracted, entry => entry.StartsWith("package/", StringComparison.Ordinal) ? entry["package/".Length..] : null);
            Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
            if (!Directory.Exists(folder))
            {
                Directory.Move(extracted, folder);
            }
            return folder;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static async Task<string> RunNodeAsync(string script, string baseUrl)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(baseUrl);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited with {process.ExitCode}: {await error}");
        return (await output).Trim();
    }
}
