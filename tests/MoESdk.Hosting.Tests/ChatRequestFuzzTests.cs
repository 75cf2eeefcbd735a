using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MoESdk.Hosting.Tests;

/// <summary>
/// Mutated chat-completion request bodies sent to the sample app on real Kestrel, as many as fit a time budget with a
/// fixed seed: no answer is a 5xx, every 4xx has an OpenAI error body with a message, a 200 is a whole completion
/// (or event stream), memory stays bounded and a valid request is still served afterwards. MOESDK_FUZZ_SECONDS sets
/// the budget (default 5).
/// </summary>
[Trait("Category", "Fuzz")]
[Collection(ModelCollection.Name)]
public sealed partial class ChatRequestFuzzTests(TestModels models, ITestOutputHelper output)
{
    // The process's peak over its working set before fuzzing. Bodies up to the 1 MB limit are read, parsed and
    // refused; the garbage collector and the buffer pools keep what they grew (it levels off within a minute: about
    // 250 MB over a 120 s run), which is no leak.
    private const long WorkingSetBound = 512L << 20;

    // Kept after a full collection: pooled buffers, 35 to 90 MB whether 2,000 or 25,000 cases ran; a leak grows with the cases.
    private const long ManagedBound = 128L << 20;

    private static TimeSpan Budget =>
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("MOESDK_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out double seconds) ? seconds : 5);

    [Fact]
    public async Task MutatedRequestBodiesGetAClearAnswerAndTheServerKeepsServing()
    {
        // Completions of at most 4 tokens keep each served case short.
        await using SampleServer server = await SampleServer.StartAsync(models, settings: ["--ChatApi:MaxTokensLimit=4", "--ChatApi:DefaultMaxTokens=2"]);
        await AssertServesAsync(server);
        long managedBefore = ManagedHeap();
        long baseline = WorkingSet();
        long peak = baseline;

        var mutator = new ChatRequestMutator(20261130);
        var statuses = new SortedDictionary<int, int>();
        int cases = 0;
        var timer = Stopwatch.StartNew();
        while (timer.Elapsed < Budget)
        {
            (byte[] body, string? contentType) = mutator.Next();
            string input = $"case {cases} ({contentType ?? "no content type"}): {Convert.ToBase64String(body[..Math.Min(body.Length, 4096)])}";
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new ByteArrayContent(body) };
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
            using HttpResponseMessage response = await SendAsync(server, request, input);
            string answer = await response.Content.ReadAsStringAsync();
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"{status}: {answer}\n{input}");
            if (status >= 400)
            {
                AssertOpenAiError(response, answer, input);
            }
            else
            {
                AssertCompletion(response, answer, input);
            }
            peak = Math.Max(peak, WorkingSet());
            cases++;
        }

        await AssertServesAsync(server);
        long managedAfter = ManagedHeap();
        output.WriteLine($"{cases} cases in {timer.Elapsed.TotalSeconds:F1} s: {string.Join(", ", statuses.Select(s => $"{s.Value} × {s.Key}"))}; " +
            $"working set {baseline >> 20} MB, peak {peak >> 20} MB, {WorkingSet() >> 20} MB at the end; managed heap {managedBefore >> 20} → {managedAfter >> 20} MB");
        Assert.True(cases > 50, $"only {cases} cases ran");
        Assert.True(peak - baseline < WorkingSetBound, $"the working set grew {(peak - baseline) >> 20} MB while fuzzing");
        Assert.True(managedAfter - managedBefore < ManagedBound, $"the managed heap kept {(managedAfter - managedBefore) >> 20} MB after fuzzing");
    }

    // A connection the server drops (an exception after the answer began) fails the case with its input.
    private static async Task<HttpResponseMessage> SendAsync(SampleServer server, HttpRequestMessage request, string input)
    {
        try
        {
            HttpResponseMessage response = await server.Http.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            return response;
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"the server dropped the connection: {e.Message}\n{input}", e);
        }
    }

    private static void AssertOpenAiError(HttpResponseMessage response, string answer, string input)
    {
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)response.StatusCode} as {response.Content.Headers.ContentType}: {answer}\n{input}");
        JsonElement error = JsonSerializer.Deserialize<JsonElement>(answer).GetProperty("error");
        string? message = error.GetProperty("message").GetString();
        Assert.True(message is { Length: > 0 }, $"no message: {answer}\n{input}");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        // The client's words, not .NET's: no type names; a field named from the request's root, not from a nested read ("0].text").
        Assert.False(message.Contains("MoESdk.", StringComparison.Ordinal) || message.Contains("System.", StringComparison.Ordinal), $"a .NET type in: {answer}\n{input}");
        Assert.False(error.TryGetProperty("param", out JsonElement param) && NestedPath().IsMatch(param.GetString() ?? ""), $"param of a nested path: {answer}\n{input}");
    }

    private static void AssertCompletion(HttpResponseMessage response, string answer, string input)
    {
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            Assert.True(answer.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal), $"an unfinished stream: {answer}\n{input}");
            return;
        }
        JsonElement completion = JsonSerializer.Deserialize<JsonElement>(answer);
        Assert.True(completion.GetProperty("choices").GetArrayLength() == 1, $"{answer}\n{input}");
    }

    private static async Task AssertServesAsync(SampleServer server)
    {
        using HttpResponseMessage response = await server.Http.PostAsync("v1/chat/completions",
            new StringContent(ChatRequestMutator.ValidBody, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement completion = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
    }

    // What "$[0].text" becomes when the "$." of a path from the request's root is cut off.
    [GeneratedRegex(@"^\d+\]")]
    private static partial Regex NestedPath();

    private static long ManagedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
