using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using MoESdk.Chat.Templates;
using MoESdk.Hosting;
using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>
/// POST /v1/chat/completions, OpenAI-compatible: a JSON completion, or with <c>"stream": true</c> server-sent events
/// (<c>data: {chunk}</c> per piece of text, then <c>data: [DONE]</c>). Bad requests get 400/404 with an OpenAI error
/// body; a full queue gets 503.
/// </summary>
public static class ChatCompletionsEndpoint
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static async Task HandleAsync(HttpContext context, MoEModelCatalog catalog, IOptions<ChatApiOptions> limits)
    {
        CancellationToken aborted = context.RequestAborted;
        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(context.Request.Body, ChatApp.Json, aborted);
        }
        catch (JsonException e)
        {
            await OpenAiErrors.BadRequest($"The request body is not valid JSON for a chat completion: {e.Message}", code: "invalid_json").ExecuteAsync(context);
            return;
        }
        IResult? problem = Validate(request, limits.Value, catalog, out IMoEModel? model, out List<ChatMessage> messages, out MoEGenerationOptions? options);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }
        try
        {
            if (request!.Stream)
            {
                await StreamAsync(context, model!, messages, options!, aborted);
            }
            else
            {
                MoEGenerationResult result = await model!.GenerateAsync(messages, options, aborted);
                var completion = new ChatCompletion(NewId(), "chat.completion", Now(), model.Info.Name,
                    [new ChatChoice(0, new ChatMessageContract("assistant", result.Text), FinishReason(result.FinishReason))],
                    new UsageContract(result.PromptTokens, result.Tokens.Count, result.PromptTokens + result.Tokens.Count),
                    new MoEUsage(result.ExpertsPerToken));
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
        catch (ArgumentException e) when (!context.Response.HasStarted)
        {
            string param = e.ParamName == nameof(MoEGenerationOptions.ExpertsPerToken) ? "experts_per_token" : "messages";
            await OpenAiErrors.BadRequest(e.Message, param).ExecuteAsync(context);
        }
    }

    /// <summary>The first token is read before any byte is sent, so a full queue or a bad prompt still gets its status code.</summary>
    private static async Task StreamAsync(HttpContext context, IMoEModel model, List<ChatMessage> messages, MoEGenerationOptions options, CancellationToken aborted)
    {
        MoEGenerationStream stream = model.GenerateStreamingAsync(messages, options, aborted);
        await using IAsyncEnumerator<GeneratedToken> tokens = stream.GetAsyncEnumerator(aborted);
        bool more = await tokens.MoveNextAsync();

        string id = NewId();
        long created = Now();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, model.Info.Name,
            [new ChunkChoice(0, new ChunkDelta("assistant", ""), null)]), aborted);
        for (; more; more = await tokens.MoveNextAsync())
        {
            if (tokens.Current.Text.Length > 0)
            {
                await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, model.Info.Name,
                    [new ChunkChoice(0, new ChunkDelta(null, tokens.Current.Text), null)]), aborted);
            }
        }
        await WriteEventAsync(context, new ChatCompletionChunk(id, "chat.completion.chunk", created, model.Info.Name,
            [new ChunkChoice(0, new ChunkDelta(null, null), FinishReason(stream.FinishReason))]), aborted);
        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static async Task WriteEventAsync(HttpContext context, ChatCompletionChunk chunk, CancellationToken aborted)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk, ChatApp.Json) + "\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static IResult? Validate(ChatCompletionRequest? request, ChatApiOptions limits, MoEModelCatalog catalog,
        out IMoEModel? model, out List<ChatMessage> messages, out MoEGenerationOptions? options)
    {
        model = null;
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
        foreach (ChatMessageContract message in request.Messages)
        {
            if (message is null || message.Role is null || !Roles.Contains(message.Role))
            {
                return OpenAiErrors.BadRequest($"Each message needs a 'role' of {string.Join(", ", Roles)}; got '{message?.Role}'.", "messages");
            }
        }
        int maxTokens = request.MaxCompletionTokens ?? request.MaxTokens ?? Math.Min(limits.DefaultMaxTokens, limits.MaxTokensLimit);
        if (maxTokens < 1 || maxTokens > limits.MaxTokensLimit)
        {
            return OpenAiErrors.BadRequest($"max_tokens must be in 1..{limits.MaxTokensLimit} on this server, was {maxTokens}.", "max_tokens");
        }
        if (request.Temperature is < 0 or > 2)
        {
            return OpenAiErrors.BadRequest($"temperature must be in 0..2, was {request.Temperature}.", "temperature");
        }
        if (request.TopP is <= 0 or > 1)
        {
            return OpenAiErrors.BadRequest($"top_p must be in (0, 1], was {request.TopP}.", "top_p");
        }
        string name = request.Model ?? catalog.Names[0];
        model = catalog.Find(name);
        if (model is null)
        {
            return OpenAiErrors.ModelNotFound(name);
        }
        // Rendered with the model's chat template, or as plain text for a base model.
        messages = request.Messages.Select(m => new ChatMessage(new ChatRole(m.Role!), m.Content)).ToList();
        options = new MoEGenerationOptions
        {
            MaxTokens = maxTokens,
            Sampling = new SamplingOptions { Temperature = request.Temperature ?? 0f, TopP = request.TopP ?? 1f, Seed = request.Seed ?? 0 },
            ExpertsPerToken = request.ExpertsPerToken,
            IncludeExperts = false,
        };
        return null;
    }

    private static string? FinishReason(FinishReason reason) => reason switch
    {
        Inference.FinishReason.Stop => "stop",
        Inference.FinishReason.MaxTokens or Inference.FinishReason.ContextFull => "length",
        _ => null,
    };

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
