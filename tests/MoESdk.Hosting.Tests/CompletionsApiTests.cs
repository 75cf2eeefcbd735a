using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

/// <summary>The sample app's POST /v1/completions (OpenAI text completions) over raw HTTP on real Kestrel.</summary>
[Collection(ModelCollection.Name)]
public sealed class CompletionsApiTests(TestModels models)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Completion(string extra = "") =>
        $$"""{"model":"kjv-llama","prompt":"And God said","max_tokens":12,"temperature":0{{extra}}}""";

    private static async Task<JsonElement> RefusedAsync(HttpClient http, string body)
    {
        using HttpResponseMessage response = await http.PostAsync("v1/completions", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
    }

    [Fact]
    public async Task AGreedyCompletionIsTheModelsContinuationOfThePromptWithUsage()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        using MoEModel direct = MoEModel.Open(models.ArtifactPath);
        MoEGenerationResult expected = await direct.GenerateAsync("And God said", new MoEGenerationOptions { MaxTokens = 12 });

        using HttpResponseMessage response = await server.Http.PostAsync("v1/completions", Json(Completion()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal(expected.Text, choice.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal(expected.FinishReason == FinishReason.Stop ? "stop" : "length", choice.GetProperty("finish_reason").GetString());
        JsonElement usage = body.GetProperty("usage");
        Assert.Equal(expected.PromptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Tokens.Count, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task AStreamedCompletionHasTheSameTextThenTheFinishReasonUsageAndDone()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        JsonElement whole = await (await server.Http.PostAsync("v1/completions", Json(Completion()))).Content.ReadFromJsonAsync<JsonElement>();

        using HttpResponseMessage response = await server.Http.PostAsync("v1/completions", Json(Completion(""","stream":true,"stream_options":{"include_usage":true}""")));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string[] events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("data: [DONE]", events[^1]);
        JsonElement[] chunks = [.. events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement)];
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        string text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), text);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").GetProperty("total_tokens").GetInt32(), chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task AStopSequenceCutsTheTextAndEndsWithStop()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        JsonElement free = await (await server.Http.PostAsync("v1/completions", Json(Completion()))).Content.ReadFromJsonAsync<JsonElement>();
        string text = free.GetProperty("choices")[0].GetProperty("text").GetString()!;
        // A stop string from the middle of the free-running text: the completion must end just before it.
        string stop = text.Substring(text.Length / 2, Math.Min(3, text.Length - (text.Length / 2)));
        Assert.False(string.IsNullOrEmpty(stop), $"the model produced too little text to cut: '{text}'");

        JsonElement cut = await (await server.Http.PostAsync("v1/completions", Json(Completion($$""","stop":{{JsonSerializer.Serialize(stop)}}""")))).Content.ReadFromJsonAsync<JsonElement>();

        JsonElement choice = cut.GetProperty("choices")[0];
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task FieldsThisServerCannotHonourAreRefusedByName()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        HttpClient http = server.Http;
        string longText = string.Join(' ', Enumerable.Repeat("and the earth was without form", 200));

        Assert.Equal("prompt", (await RefusedAsync(http, """{"max_tokens":4}""")).GetProperty("param").GetString());
        Assert.Equal("prompt", (await RefusedAsync(http, """{"prompt":["a","b"],"max_tokens":4}""")).GetProperty("param").GetString());
        Assert.Equal("prompt", (await RefusedAsync(http, """{"prompt":[1,2,3],"max_tokens":4}""")).GetProperty("param").GetString());
        Assert.Equal("echo", (await RefusedAsync(http, Completion(""","echo":true"""))).GetProperty("param").GetString());
        Assert.Equal("logprobs", (await RefusedAsync(http, Completion(""","logprobs":2"""))).GetProperty("param").GetString());
        Assert.Equal("suffix", (await RefusedAsync(http, Completion(""","suffix":"x" """))).GetProperty("param").GetString());
        Assert.Equal("best_of", (await RefusedAsync(http, Completion(""","best_of":3"""))).GetProperty("param").GetString());
        Assert.Equal("n", (await RefusedAsync(http, Completion(""","n":2"""))).GetProperty("param").GetString());
        Assert.Equal("max_tokens", (await RefusedAsync(http, Completion(""","max_tokens":0"""))).GetProperty("param").GetString());
        JsonElement tooLong = await RefusedAsync(http, $$"""{"prompt":"{{longText}}","max_tokens":4}""");
        Assert.Equal("context_length_exceeded", tooLong.GetProperty("code").GetString());
        Assert.Equal("prompt", tooLong.GetProperty("param").GetString());
        Assert.Contains("the prompt is", tooLong.GetProperty("message").GetString(), StringComparison.Ordinal);

        using HttpResponseMessage unknown = await http.PostAsync("v1/completions", Json(Completion().Replace("kjv-llama", "gpt-9", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
