using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MoESdk.Hosting.Tests;

/// <summary>The sample app's OpenAI error shapes and protocol details over raw HTTP on real Kestrel.</summary>
[Collection(ModelCollection.Name)]
public sealed class OpenAiProtocolTests(TestModels models)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Chat(string extra = "") =>
        $$"""{"model":"kjv-llama","messages":[{"role":"user","content":"And God said"}],"max_tokens":4,"temperature":0{{extra}}}""";

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        JsonElement error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(status >= HttpStatusCode.InternalServerError ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());
        return error;
    }

    [Fact]
    public async Task Every4xxHasAnOpenAiErrorBody()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        HttpClient http = server.Http;

        JsonElement unknown = await ErrorOf(await http.GetAsync("v1/embeddings"), HttpStatusCode.NotFound);
        JsonElement method = await ErrorOf(await http.GetAsync("v1/chat/completions"), HttpStatusCode.MethodNotAllowed);
        JsonElement plainText = await ErrorOf(await http.PostAsync("v1/chat/completions", new StringContent(Chat(), Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
        JsonElement nan = await ErrorOf(await http.PostAsync("v1/chat/completions", Json(Chat(""","temperature":"NaN" """))), HttpStatusCode.BadRequest);
        JsonElement n = await ErrorOf(await http.PostAsync("v1/chat/completions", Json(Chat(""","n":2"""))), HttpStatusCode.BadRequest);
        JsonElement stop = await ErrorOf(await http.PostAsync("v1/chat/completions", Json(Chat(""","stop":["a","b","c","d","e"]"""))), HttpStatusCode.BadRequest);
        JsonElement missingModel = await ErrorOf(await http.GetAsync("v1/models/gpt-9"), HttpStatusCode.NotFound);

        Assert.Equal("unknown_url", unknown.GetProperty("code").GetString());
        Assert.Contains("GET /v1/embeddings", unknown.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("method_not_allowed", method.GetProperty("code").GetString());
        Assert.Equal("unsupported_media_type", plainText.GetProperty("code").GetString());
        Assert.Equal("temperature", nan.GetProperty("param").GetString());
        Assert.Equal("n", n.GetProperty("param").GetString());
        Assert.Equal("stop", stop.GetProperty("param").GetString());
        Assert.Equal("model_not_found", missingModel.GetProperty("code").GetString());
    }

    [Fact]
    public async Task BadValuesFoundByFuzzingNameTheirFieldFromTheRequestRootInPlainWords()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        async Task<JsonElement> Refused(string body) => await ErrorOf(await server.Http.PostAsync("v1/chat/completions", Json(body)), HttpStatusCode.BadRequest);
        string hugeRole = new('a', 100_000);

        // Errors inside content parts and stop arrays named "0]" and "0].text": paths of a nested read, not of the request.
        JsonElement part = await Refused("""{"messages":[{"role":"user","content":[{"type":"text","text":5}]}],"max_tokens":1}""");
        JsonElement stop = await Refused(Chat(""","stop":["a",5]"""));
        // .NET type names instead of the field's problem.
        JsonElement type = await Refused(Chat(""","max_tokens":"two" """));
        JsonElement array = await Refused("[]");
        // A text part without text was "a 'text' part; this model reads text only".
        JsonElement noText = await Refused("""{"messages":[{"role":"user","content":[{"type":"text"}]}],"max_tokens":1}""");
        // A huge value was sent back whole in the message.
        JsonElement role = await Refused($$"""{"messages":[{"role":"{{hugeRole}}","content":"a"}],"max_tokens":1}""");

        Assert.Equal("messages[0].content", part.GetProperty("param").GetString());
        Assert.Contains("(at [0].text)", part.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("stop", stop.GetProperty("param").GetString());
        Assert.Contains("'stop' must be a string or an array of strings (at [1])", stop.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("max_tokens", type.GetProperty("param").GetString());
        Assert.EndsWith("'max_tokens' holds a value of the wrong type, or a number out of its range.", type.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("the body must be a JSON object with 'messages'.", array.GetProperty("message").GetString(), StringComparison.Ordinal);
        foreach (JsonElement error in new[] { part, stop, type, array })
        {
            Assert.DoesNotContain("MoESdk.", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("System.", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal("messages[0].content[0] is a text part without a 'text' string.", noText.GetProperty("message").GetString());
        Assert.InRange(role.GetProperty("message").GetString()!.Length, 64, 200);
    }

    [Fact]
    public async Task APromptLongerThanTheContextIsContextLengthExceeded()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);
        string longText = string.Join(' ', Enumerable.Repeat("and the earth was without form", 200));

        JsonElement error = await ErrorOf(await server.Http.PostAsync("v1/chat/completions",
            Json($$"""{"messages":[{"role":"user","content":"{{longText}}"}],"max_tokens":4}""")), HttpStatusCode.BadRequest);

        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains($"maximum context length is {TestModels.Config.MaxPositions} tokens", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABodyOverTheLimitIsRefusedBeforeItIsRead()
    {
        await using SampleServer server = await SampleServer.StartAsync(models, settings: "--ChatApi:MaxRequestBodyBytes=65536");
        (await server.Http.PostAsync("v1/chat/completions", Json(Chat()))).EnsureSuccessStatusCode();

        // Announces 10 MB and sends none of it: the answer comes from the headers alone.
        string sized = await RawAsync(server.Address, "Content-Length: 10485760\r\n", []);
        // Chunked, no length: refused once the read passes the limit, with the rest never sent.
        byte[] chunk = Encoding.ASCII.GetBytes($"10000\r\n{new string(' ', 0x10000)}\r\n");
        string chunked = await RawAsync(server.Address, "Transfer-Encoding: chunked\r\n", [.. Encoding.ASCII.GetBytes("1\r\n{\r\n"), .. chunk, .. chunk]);

        foreach (string response in new[] { sized, chunked })
        {
            Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
            // The JSON body, whether sent with a length or in chunks.
            string json = response[response.IndexOf('{', StringComparison.Ordinal)..(response.LastIndexOf('}') + 1)];
            JsonElement error = JsonSerializer.Deserialize<JsonElement>(json).GetProperty("error");
            Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        }
    }

    /// <summary>Sends a chat completion's request line and headers, then <paramref name="body"/>, and reads the whole response.</summary>
    private static async Task<string> RawAsync(Uri address, string bodyHeader, byte[] body)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        NetworkStream stream = tcp.GetStream();
        byte[] head = Encoding.ASCII.GetBytes($"POST /v1/chat/completions HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\n{bodyHeader}Connection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task StreamOptionsIncludeUsageAddsAUsageChunkBeforeDone()
    {
        await using SampleServer server = await SampleServer.StartAsync(models);

        string body = await (await server.Http.PostAsync("v1/chat/completions", Json(Chat(""","stream":true,"stream_options":{"include_usage":true}""")))).Content.ReadAsStringAsync();
        string plain = await (await server.Http.PostAsync("v1/chat/completions", Json(Chat(""","stream":true""")))).Content.ReadAsStringAsync();
        JsonElement whole = await (await server.Http.PostAsync("v1/chat/completions", Json(Chat()))).Content.ReadFromJsonAsync<JsonElement>();

        string[] events = [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..])];
        Assert.Equal("[DONE]", events[^1]);
        JsonElement usage = JsonSerializer.Deserialize<JsonElement>(events[^2]);
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(whole.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.DoesNotContain("\"usage\"", plain, StringComparison.Ordinal);
    }
}
