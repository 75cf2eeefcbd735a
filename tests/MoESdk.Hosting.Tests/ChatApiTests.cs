using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

/// <summary>The sample web app's endpoints, in memory (WebApplicationFactory), serving the test artifact.</summary>
[Collection(ModelCollection.Name)]
[Trait("Category", "Unit")]
public sealed class ChatApiTests(TestModels models) : IDisposable
{
    private const string Prompt = "In the beginning God created";

    private readonly WebApplicationFactory<Program> _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        web.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MoE:Models:kjv-llama:Path"] = models.ArtifactPath,
            ["MoE:Models:kjv-llama:QueueCapacity"] = "0",
            ["ChatApi:MaxTokensLimit"] = "64",
        })));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Chat(string extra = "") =>
        $$"""{"model":"kjv-llama","messages":[{"role":"user","content":"{{Prompt}}"}],"max_tokens":8,"temperature":0{{extra}}}""";

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();
        JsonElement error = body.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        return error;
    }

    [Fact]
    public async Task AChatCompletionIsTheModelsGreedyContinuationInOpenAIsShape()
    {
        using HttpClient client = _factory.CreateClient();

        HttpResponseMessage response = await client.PostAsync("/v1/chat/completions", Json(Chat()));
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();
        IMoEModel model = _factory.Services.GetRequiredService<IMoEModel>();
        MoEGenerationResult expected = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 8 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("kjv-llama", body.GetProperty("model").GetString());
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(expected.Text, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.Equal(expected.Tokens.Count, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(TestModels.TopK, body.GetProperty("moe").GetProperty("experts_per_token").GetInt32());
    }

    [Fact]
    public async Task ExpertsPerTokenIsARequestsComputeBudget()
    {
        using HttpClient client = _factory.CreateClient();

        HttpResponseMessage response = await client.PostAsync("/v1/chat/completions", Json(Chat(""","experts_per_token":1""")));
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, body.GetProperty("moe").GetProperty("experts_per_token").GetInt32());
    }

    [Fact]
    public async Task ModelsListsTheServedModelWithItsExperts()
    {
        using HttpClient client = _factory.CreateClient();

        JsonElement body = await client.GetFromJsonAsync<JsonElement>("/v1/models");

        Assert.Equal("list", body.GetProperty("object").GetString());
        JsonElement model = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal("kjv-llama", model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal([TestModels.Experts, TestModels.Experts], model.GetProperty("experts_per_layer").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task ExpertsReportsLiveRoutingStatistics()
    {
        using HttpClient client = _factory.CreateClient();
        JsonElement before = await client.GetFromJsonAsync<JsonElement>("/experts");

        (await client.PostAsync("/v1/chat/completions", Json(Chat()))).EnsureSuccessStatusCode();
        JsonElement after = await client.GetFromJsonAsync<JsonElement>("/experts");

        long tokens = after.GetProperty("tokens").GetInt64();
        Assert.True(tokens > before.GetProperty("tokens").GetInt64());
        JsonElement[] layers = [.. after.GetProperty("layers").EnumerateArray()];
        Assert.Equal(TestModels.Config.NumLayers, layers.Length);
        Assert.All(layers, layer =>
        {
            Assert.Equal(tokens * TestModels.TopK, layer.GetProperty("selections").EnumerateArray().Sum(s => s.GetInt64()));
            Assert.True(layer.GetProperty("load_imbalance").GetDouble() >= 1);
        });
        Assert.True(after.GetProperty("max_load_imbalance").GetDouble() >= 1);
    }

    [Fact]
    public async Task HealthIsHealthyOnceTheModelIsWarm()
    {
        using HttpClient client = _factory.CreateClient();

        HttpResponseMessage response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"messages\": [", "invalid_json")]
    [InlineData("null", "invalid_json")]
    [InlineData("{\"messages\": \"hello\"}", "invalid_json")]
    public async Task MalformedJsonIsABadRequest(string json, string code)
    {
        using HttpClient client = _factory.CreateClient();

        JsonElement error = await ErrorOf(await client.PostAsync("/v1/chat/completions", Json(json)), HttpStatusCode.BadRequest);

        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("""{"model":"kjv-llama"}""", "messages")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"wizard","content":"hi"}]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":65}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"experts_per_token":9}""", "experts_per_token")]
    public async Task InvalidRequestsNameTheParameter(string json, string param)
    {
        using HttpClient client = _factory.CreateClient();

        JsonElement error = await ErrorOf(await client.PostAsync("/v1/chat/completions", Json(json)), HttpStatusCode.BadRequest);

        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task AnUnknownModelIsNotFound()
    {
        using HttpClient client = _factory.CreateClient();

        JsonElement error = await ErrorOf(
            await client.PostAsync("/v1/chat/completions", Json("""{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""")), HttpStatusCode.NotFound);

        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("gpt-9", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFullQueueIsServiceUnavailable(bool stream)
    {
        using HttpClient client = _factory.CreateClient();
        IMoEModel model = _factory.Services.GetRequiredService<IMoEModel>();
        // Hold the only slot (QueueCapacity is 0 here) with a long generation.
        await using IAsyncEnumerator<GeneratedToken> running = model.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { MaxTokens = 200 }).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());

        HttpResponseMessage response = await client.PostAsync("/v1/chat/completions", Json(Chat(stream ? ""","stream":true""" : "")));
        JsonElement error = await ErrorOf(response, HttpStatusCode.ServiceUnavailable);

        Assert.Equal("server_overloaded", error.GetProperty("code").GetString());
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("Retry-After")));
    }

    public void Dispose() => _factory.Dispose();
}
