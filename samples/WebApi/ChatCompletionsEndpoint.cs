using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using MoESdk.Chat.Templates;
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

    /// <summary>OpenAI accepts up to 4 stop sequences.</summary>
    private const int MaxStopSequences = 4;

    public static async Task HandleAsync(HttpContext context, MoEModelCatalog catalog, IOptions<ChatApiOptions> limits)
    {
        CancellationToken aborted = context.RequestAborted;
        if (!context.Request.HasJsonContentType())
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await OpenAiErrors.WriteForStatusAsync(context);
            return;
        }
        ChatCompletionRequest? request;
        try
        {
            request = await ReadAsync(context, limits.Value.MaxRequestBodyBytes, aborted);
        }
        catch (JsonException e)
        {
            string? param = e.Path is { Length: > 2 } path ? path[2..] : null;
            await OpenAiErrors.BadRequest($"The request body is not valid JSON for a chat completion: {Describe(e, param)}", param, "invalid_json").ExecuteAsync(context);
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await OpenAiErrors.WriteForStatusAsync(context);
            return;
        }
        IResult? problem = Validate(request, limits.Value, catalog, out IMoEModel? model, out IChatClient? chat, out ChatMessage[] messages, out ChatOptions? options);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }
        int expertsPerToken = request!.ExpertsPerToken ?? model!.Info.DefaultExpertsPerToken;
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
        catch (MoEQueueFullException e) when (!context.Response.HasStarted)
        {
            context.Response.Headers.RetryAfter = "1";
            await OpenAiErrors.Overloaded(e.Message).ExecuteAsync(context);
        }
        catch (TemplateException e) when (!context.Response.HasStarted)
        {
            await OpenAiErrors.BadRequest($"The model's chat template cannot render these messages: {e.Problem}", "messages").ExecuteAsync(context);
        }
        catch (PromptTooLongException e) when (!context.Response.HasStarted)
        {
            await OpenAiErrors.BadRequest(
                $"This model's maximum context length is {e.ContextLength} tokens, and the messages are {e.PromptTokens} tokens: shorten the messages.",
                "messages", "context_length_exceeded").ExecuteAsync(context);
        }
        catch (ArgumentException e) when (!context.Response.HasStarted)
        {
            string param = e.ParamName switch
            {
                nameof(MoEGenerationOptions.ExpertsPerToken) => "experts_per_token",
                nameof(MoEGenerationOptions.StopSequences) => "stop",
                _ => "messages",
            };
            await OpenAiErrors.BadRequest(WithoutParameterName(e), param).ExecuteAsync(context);
        }
    }

    /// <summary>
    /// The serializer's "could not be converted to T" names .NET types the client never sees: say which field holds a
    /// value of the wrong type instead.
    /// </summary>
    private static string Describe(JsonException e, string? param) =>
        !e.Message.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal) ? e.Message
        : param is null ? "the body must be a JSON object with 'messages'."
        : $"'{param}' holds a value of the wrong type, or a number out of its range.";

    /// <summary>
    /// Reads the body as a request, refusing it (413) when its Content-Length is over the limit, before reading, or
    /// as soon as the read passes the limit: a big body never sits in memory.
    /// </summary>
    private static async Task<ChatCompletionRequest?> ReadAsync(HttpContext context, long limit, CancellationToken aborted)
    {
        if (context.Request.ContentLength > limit)
        {
            throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        return await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(context.Request.Body, ChatApp.Json, aborted);
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

    private const float OpenAiDefaultTemperature = 1f;

    private static IResult? Validate(ChatCompletionRequest? request, ChatApiOptions limits, MoEModelCatalog catalog,
        out IMoEModel? model, out IChatClient? chat, out ChatMessage[] messages, out ChatOptions? options)
    {
        model = null;
        chat = null;
        messages = [];
        options = null;
        if (request is null)
        {
            return OpenAiErrors.BadRequest("The request body must be a JSON object.", code: "invalid_json");
        }
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
        if (maxTokens < 1 || maxTokens > limits.MaxTokensLimit)
        {
            return OpenAiErrors.BadRequest($"max_tokens must be in 1..{limits.MaxTokensLimit} on this server, was {maxTokens}.", "max_tokens");
        }
        if (request.Temperature is float temperature && !(temperature >= 0 && temperature <= 2))
        {
            return OpenAiErrors.BadRequest($"temperature must be in 0..2, was {request.Temperature}.", "temperature");
        }
        if (request.TopP is float topP && !(topP > 0 && topP <= 1))
        {
            return OpenAiErrors.BadRequest($"top_p must be in (0, 1], was {request.TopP}.", "top_p");
        }
        if (request.N is int n && n != 1)
        {
            return OpenAiErrors.BadRequest($"n must be 1 on this server (one choice per request), was {n}: send {n} requests instead.", "n");
        }
        if (request.Stop is { } stop && (stop.Count > MaxStopSequences || stop.Any(string.IsNullOrEmpty)))
        {
            return OpenAiErrors.BadRequest($"stop must be a non-empty string or up to {MaxStopSequences} non-empty strings.", "stop");
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
            // OpenAI's default temperature is 1; a model whose generation_config.json sets one keeps its own.
            Temperature = request.Temperature ?? (model.GenerationDefaults.Temperature is null ? OpenAiDefaultTemperature : null),
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

    /// <summary>The exception's message without .NET's " (Parameter 'x')" tail: the API names the field itself.</summary>
    private static string WithoutParameterName(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;

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
