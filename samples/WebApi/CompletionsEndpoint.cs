using System.Text.Json;
using Microsoft.Extensions.Options;
using MoESdk.Hosting;
using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>
/// POST /v1/completions, OpenAI's text completions: the prompt continued as plain text (no chat template), as JSON or
/// with <c>"stream": true</c> as server-sent events (<c>text_completion</c> chunks, a usage chunk when
/// <c>stream_options.include_usage</c>, then <c>data: [DONE]</c>). Served by <see cref="IMoEModel"/> directly: a
/// completion is not a chat, so the chat pipeline's middleware does not see it. Same limits, sampling defaults and
/// errors as chat completions.
/// </summary>
public static class CompletionsEndpoint
{
    /// <summary>OpenAI's max_tokens when a text completion request does not say.</summary>
    private const int OpenAiDefaultMaxTokens = 16;

    public static async Task HandleAsync(HttpContext context, MoEModelCatalog catalog, IOptions<ChatApiOptions> limits)
    {
        CompletionRequest? request = await OpenAiBody.ReadAsync<CompletionRequest>(context, limits.Value.MaxRequestBodyBytes, "a JSON object with 'prompt'");
        if (request is null)
        {
            return;
        }
        IResult? problem = Validate(request, limits.Value, catalog, out IMoEModel? model, out MoEGenerationOptions? options);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }
        string prompt = request.Prompt![0];
        try
        {
            if (request.Stream)
            {
                await StreamAsync(context, model!, prompt, options!, request.StreamOptions?.IncludeUsage == true);
            }
            else
            {
                MoEGenerationResult result = await model!.GenerateAsync(prompt, options, context.RequestAborted);
                var completion = new TextCompletion(NewId(), "text_completion", Now(), model.Info.Name,
                    [new TextChoice(result.Text, 0, null, FinishReason(result.FinishReason))],
                    Usage(result.PromptTokens, result.Tokens.Count), new MoEUsage(result.ExpertsPerToken));
                await Results.Json(completion, ChatApp.Json).ExecuteAsync(context);
            }
        }
        catch (Exception e) when (!context.Response.HasStarted && GenerationFailures.Maps(e))
        {
            await GenerationFailures.WriteAsync(context, e, "prompt");
        }
    }

    /// <summary>The first token is read before any byte is sent, so a full queue or a too-long prompt still gets its status code.</summary>
    private static async Task StreamAsync(HttpContext context, IMoEModel model, string prompt, MoEGenerationOptions options, bool includeUsage)
    {
        CancellationToken aborted = context.RequestAborted;
        MoEGenerationStream stream = model.GenerateStreamingAsync(prompt, options, aborted);
        await using IAsyncEnumerator<GeneratedToken> tokens = stream.GetAsyncEnumerator(aborted);
        bool more = await tokens.MoveNextAsync();

        string id = NewId();
        long created = Now();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        int count = 0;
        for (; more; more = await tokens.MoveNextAsync())
        {
            count++;
            if (tokens.Current.Text.Length > 0)
            {
                await WriteEventAsync(context, new TextCompletionChunk(id, "text_completion", created, model.Info.Name, [new TextChoice(tokens.Current.Text, 0, null, null)]));
            }
        }
        await WriteEventAsync(context, new TextCompletionChunk(id, "text_completion", created, model.Info.Name, [new TextChoice("", 0, null, FinishReason(stream.FinishReason))]));
        if (includeUsage)
        {
            await WriteEventAsync(context, new TextCompletionChunk(id, "text_completion", created, model.Info.Name, [], Usage(stream.PromptTokens, count)));
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static async Task WriteEventAsync(HttpContext context, TextCompletionChunk chunk)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk, ChatApp.Json) + "\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static IResult? Validate(CompletionRequest request, ChatApiOptions limits, MoEModelCatalog catalog, out IMoEModel? model, out MoEGenerationOptions? options)
    {
        model = null;
        options = null;
        if (request.Prompt is not { Count: > 0 } || request.Prompt[0] is null)
        {
            return OpenAiErrors.BadRequest("'prompt' is required: the text to continue.", "prompt");
        }
        if (request.Prompt.Count > 1)
        {
            return OpenAiErrors.BadRequest($"'prompt' holds {request.Prompt.Count} prompts; this server completes one per request: send them one at a time.", "prompt");
        }
        if (request.Echo)
        {
            return OpenAiErrors.BadRequest("echo is not supported: the prompt is not repeated in the completion; prepend it yourself.", "echo");
        }
        if (request.Logprobs is not null)
        {
            return OpenAiErrors.BadRequest("logprobs is not supported by this server: leave it out.", "logprobs");
        }
        if (request.Suffix is not null)
        {
            return OpenAiErrors.BadRequest("suffix (insertion) is not supported: this model only continues text.", "suffix");
        }
        if (request.BestOf is int bestOf && bestOf != 1)
        {
            return OpenAiErrors.BadRequest($"best_of must be 1 on this server, was {bestOf}.", "best_of");
        }
        int maxTokens = request.MaxTokens ?? Math.Min(OpenAiDefaultMaxTokens, limits.MaxTokensLimit);
        if (SamplingFields.Check(maxTokens, request.Temperature, request.TopP, request.N, request.Stop, limits) is { } invalid)
        {
            return invalid;
        }
        string name = request.Model ?? catalog.Names[0];
        model = catalog.Find(name);
        if (model is null)
        {
            return OpenAiErrors.ModelNotFound(name);
        }
        options = new MoEGenerationOptions
        {
            MaxTokens = maxTokens,
            Sampling = model.GenerationDefaults.Sampling(SamplingFields.Temperature(request.Temperature, model), request.TopP, topK: null, request.Seed),
            StopSequences = request.Stop ?? [],
            ExpertsPerToken = request.ExpertsPerToken,
            IncludeExperts = false,
        };
        return null;
    }

    private static UsageContract Usage(int prompt, int completion) => new(prompt, completion, prompt + completion);

    private static string? FinishReason(FinishReason reason) =>
        reason == Inference.FinishReason.Stop ? "stop" : reason == Inference.FinishReason.MaxTokens ? "length" : null;

    private static string NewId() => "cmpl-" + Guid.NewGuid().ToString("N");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
