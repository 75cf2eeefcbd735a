using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using MoESdk.Hosting;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>
/// POST /v1/chat/completions, OpenAI-compatible, served by the model's <see cref="IChatClient"/> pipeline (so the
/// middleware the app adds sees every request): a JSON completion, or with <c>"stream": true</c> server-sent events
/// (<c>data: {chunk}</c> per piece of text, a usage chunk when <c>stream_options.include_usage</c>, then
/// <c>data: [DONE]</c>). Bad requests get 4xx with an OpenAI error body; a full queue gets 503.
/// </summary>
public static class ChatCompletionsEndpoint
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static async Task HandleAsync(HttpContext context, MoEModelCatalog catalog, IOptions<ChatApiOptions> limits)
    {
        CancellationToken aborted = context.RequestAborted;
        ChatCompletionRequest? request = await OpenAiBody.ReadAsync<ChatCompletionRequest>(context, limits.Value.MaxRequestBodyBytes, "a JSON object with 'messages'");
        if (request is null)
        {
            return;
        }
        IResult? problem = Validate(request, limits.Value, catalog, out IMoEModel? model, out IChatClient? chat, out ChatMessage[] messages, out ChatOptions? options);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }
        int expertsPerToken = request.ExpertsPerToken ?? model!.Info.DefaultExpertsPerToken;
        try
        {
            if (request.Stream)
            {
                await StreamAsync(context, chat!, model!.Info.Name, messages, options!, request.StreamOptions?.IncludeUsage == true, aborted);
            }
            else
            {
                ChatResponse response = await chat!.GetResponseAsync(messages, options, aborted);
                var completion = new ChatCompletion(NewId(), "chat.completion", Now(), model!.Info.Name,
                    [new ChatChoice(0, new ResponseMessage("assistant", response.Text), FinishReason(response.FinishReason))],
                    Usage(response.Usage), new MoEUsage(expertsPerToken));
                await Results.Json(completion, ChatApp.Json).ExecuteAsync(context);
            }
        }
        catch (Exception e) when (!context.Response.HasStarted && GenerationFailures.Maps(e))
        {
            await GenerationFailures.WriteAsync(context, e, "messages");
        }
    }

    /// <summary>The first update is read before any byte is sent, so a full queue or a bad prompt still gets its status code.</summary>
    private static async Task StreamAsync(HttpContext context, IChatClient chat, string modelName, ChatMessage[] messages, ChatOptions options,
        bool includeUsage, CancellationToken aborted)
    {
        await using IAsyncEnumerator<ChatResponseUpdate> updates = chat.GetStreamingResponseAsync(messages, options, aborted).GetAsyncEnumerator(aborted);
        bool more = await updates.MoveNextAsync();

        string id = NewId();
        long created = Now();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, modelName,
            [new ChunkChoice(0, new ChunkDelta("assistant", ""), null)]), aborted);
        ChatFinishReason? finish = null;
        UsageDetails? usage = null;
        for (; more; more = await updates.MoveNextAsync())
        {
            ChatResponseUpdate update = updates.Current;
            finish = update.FinishReason ?? finish;
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            if (update.Text.Length > 0)
            {
                await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, modelName,
                    [new ChunkChoice(0, new ChunkDelta(null, update.Text), null)]), aborted);
            }
        }
        await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, modelName,
            [new ChunkChoice(0, new ChunkDelta(null, null), FinishReason(finish))]), aborted);
        if (includeUsage)
        {
            await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, modelName, [], Usage(usage)), aborted);
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static async Task WriteEventAsync(HttpContext context, ChatCompletionChunk chunk, CancellationToken aborted)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk, ChatApp.Json) + "\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static IResult? Validate(ChatCompletionRequest request, ChatApiOptions limits, MoEModelCatalog catalog,
        out IMoEModel? model, out IChatClient? chat, out ChatMessage[] messages, out ChatOptions? options)
    {
        model = null;
        chat = null;
        messages = [];
        options = null;
        if (request.Messages is not { Count: > 0 })
        {
            return OpenAiErrors.BadRequest("'messages' is required and must hold at least one message.", "messages");
        }
        for (int i = 0; i < request.Messages.Count; i++)
        {
            RequestMessage message = request.Messages[i];
            if (message is null || message.Role is null || !Roles.Contains(message.Role))
            {
                return OpenAiErrors.BadRequest($"Each message needs a 'role' of {string.Join(", ", Roles)}; got '{OpenAiErrors.Echo(message?.Role)}'.", "messages");
            }
            int other = message.Content?.ToList().FindIndex(p => p is null || p.Type != "text" || p.Text is null) ?? -1;
            if (other >= 0)
            {
                ContentPart? part = message.Content![other];
                return OpenAiErrors.BadRequest(part?.Type == "text"
                    ? $"messages[{i}].content[{other}] is a text part without a 'text' string."
                    : $"messages[{i}].content[{other}] is a '{OpenAiErrors.Echo(part?.Type)}' part; this model reads text only: send parts of type 'text' with a 'text'.",
                    $"messages[{i}].content[{other}]");
            }
        }
        int maxTokens = request.MaxCompletionTokens ?? request.MaxTokens ?? Math.Min(limits.DefaultMaxTokens, limits.MaxTokensLimit);
        if (SamplingFields.Check(maxTokens, request.Temperature, request.TopP, request.N, request.Stop, limits) is { } invalid)
        {
            return invalid;
        }
        string name = request.Model ?? catalog.Names[0];
        model = catalog.Find(name);
        chat = catalog.FindChatClient(name);
        if (model is null || chat is null)
        {
            return OpenAiErrors.ModelNotFound(name);
        }
        messages = [.. request.Messages.Select(m => new ChatMessage(new ChatRole(m.Role!), [.. (m.Content ?? []).Select(p => new TextContent(p.Text))]))];
        // Sampling fields the request leaves out stay null: the model's chat client applies the model's defaults.
        options = new ChatOptions
        {
            ModelId = name,
            MaxOutputTokens = maxTokens,
            Temperature = SamplingFields.Temperature(request.Temperature, model),
            TopP = request.TopP,
            Seed = request.Seed,
            StopSequences = request.Stop is { } stops ? [.. stops] : null,
        };
        if (request.ExpertsPerToken is int k)
        {
            options.AdditionalProperties = new() { [MoEModel.ExpertsPerTokenProperty] = k };
        }
        return null;
    }

    private static UsageContract Usage(UsageDetails? usage)
    {
        int prompt = (int)(usage?.InputTokenCount ?? 0), completion = (int)(usage?.OutputTokenCount ?? 0);
        return new UsageContract(prompt, completion, prompt + completion);
    }

    private static string? FinishReason(ChatFinishReason? reason) =>
        reason == ChatFinishReason.Stop ? "stop" : reason == ChatFinishReason.Length ? "length" : null;

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
