using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MoESdk.Samples.WebApi;
using Xunit.Abstractions;

namespace MoESdk.Hosting.Tests;

/// <summary>The sample web app on a real Kestrel server on 127.0.0.1 (any free port), spoken to over HTTP.</summary>
[Collection(ModelCollection.Name)]
public sealed class KestrelTests(TestModels models, ITestOutputHelper output)
{
    private const string Prompt = "And God said";

    private async Task<(WebApplication App, HttpClient Client)> StartAsync(int queueCapacity)
    {
        WebApplication app = ChatApp.Build([
            "--urls", "http://127.0.0.1:0",
            "--environment", "Production",
            $"--MoE:Models:kjv-llama:Path={models.ArtifactPath}",
            $"--MoE:Models:kjv-llama:QueueCapacity={queueCapacity}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        return (app, new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(2) });
    }

    private static StringContent Chat(int maxTokens, bool stream) => new(
        $$"""{"model":"kjv-llama","messages":[{"role":"user","content":"{{Prompt}}"}],"max_tokens":{{maxTokens}},"temperature":0,"stream":{{(stream ? "true" : "false")}}}""",
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task StreamingSendsServerSentEventChunksThenDone()
    {
        (WebApplication app, HttpClient client) = await StartAsync(queueCapacity: 4);
        await using WebApplication _ = app;
        using HttpClient __ = client;

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat(12, stream: true) };
        using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<string>();
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
        {
            while (await reader.ReadLineAsync() is string line)
            {
                if (line.Length > 0)
                {
                    Assert.StartsWith("data: ", line, StringComparison.Ordinal);
                    events.Add(line["data: ".Length..]);
                }
            }
        }
        JsonElement whole = await (await client.PostAsync("/v1/chat/completions", Chat(12, stream: false))).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = events[..^1].Select(e => JsonSerializer.Deserialize<JsonElement>(e)).ToArray();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string streamed = string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String ? content.GetString() : ""));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), streamed);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(),
            chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
    }

    /// <summary>
    /// 50 requests at once against 1 running + 8 waiting: each is answered 200 or cleanly refused 503, none fails otherwise,
    /// and the process does not keep what the burst allocated: managed heap within 32 MB and working set within 256 MB of
    /// before (libtorch's allocator keeps some freed native memory cached, hence the wider native bound).
    /// </summary>
    [Fact]
    public async Task ABurstOfRequestsIsServedOrRefusedAndMemoryIsGivenBack()
    {
        const int Requests = 50;
        const long ManagedBound = 32L << 20, WorkingSetBound = 256L << 20;
        (WebApplication app, HttpClient client) = await StartAsync(queueCapacity: 8);
        await using WebApplication _ = app;
        using HttpClient __ = client;
        for (int i = 0; i < 3; i++)
        {
            (await client.PostAsync("/v1/chat/completions", Chat(4, stream: i % 2 == 1))).EnsureSuccessStatusCode();
        }
        (long managedBefore, long workingSetBefore) = Memory();

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, Requests)
            .Select(i => client.PostAsync("/v1/chat/completions", Chat(4, stream: i % 2 == 1))));
        var codes = new List<string>();
        foreach (HttpResponseMessage response in responses)
        {
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
            string body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                codes.Add(JsonSerializer.Deserialize<JsonElement>(body).GetProperty("error").GetProperty("code").GetString()!);
            }
            else if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
            }
            response.Dispose();
        }
        (long managedAfter, long workingSetAfter) = Memory();
        output.WriteLine($"{responses.Count(r => r.StatusCode == HttpStatusCode.OK)} served, {codes.Count} refused; managed heap {managedBefore >> 20} → {managedAfter >> 20} MB, " +
            $"working set {workingSetBefore >> 20} → {workingSetAfter >> 20} MB");

        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(codes, code => Assert.Equal("server_overloaded", code));
        Assert.True(managedAfter - managedBefore < ManagedBound, $"managed heap grew {(managedAfter - managedBefore) >> 20} MB");
        Assert.True(workingSetAfter - workingSetBefore < WorkingSetBound, $"working set grew {(workingSetAfter - workingSetBefore) >> 20} MB");
    }

    private static (long Managed, long WorkingSet) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), process.WorkingSet64);
    }
}
