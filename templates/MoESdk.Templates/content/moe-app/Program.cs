using Microsoft.Extensions.AI;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// Generated from the <MoEModel> item in MoEApp.csproj: registers the converted model kjv-llama as IChatClient and
// IMoEModel, with its options from the configuration section MoE:Models:kjv-llama (appsettings.json). The model is
// loaded and warmed up when the app starts; /health reports Healthy once it is ready.
builder.Services.AddKjvLlamaMoE();

WebApplication app = builder.Build();

// POST /chat {"message": "...", "maxTokens": 64} → {"reply": "..."}
app.MapPost("/chat", async (ChatRequest request, IChatClient chat, IConfiguration configuration, CancellationToken cancellationToken) =>
{
    if (ChatRequest.Validate(request, configuration) is { } problem)
    {
        return problem;
    }

    ChatResponse response = await chat.GetResponseAsync(request.Message, request.Options(configuration), cancellationToken);
    return Results.Ok(new ChatReply(response.Text));
});

// POST /chat/stream: the same request, answered with server-sent events, one per piece of text as it is generated.
app.MapPost("/chat/stream", (ChatRequest request, IChatClient chat, IConfiguration configuration, CancellationToken cancellationToken) =>
    ChatRequest.Validate(request, configuration)
        ?? TypedResults.ServerSentEvents(StreamAsync(chat, request.Message, request.Options(configuration), cancellationToken), eventType: "text"));

app.MapHealthChecks("/health");

app.Run();

static async IAsyncEnumerable<string> StreamAsync(IChatClient chat, string message, ChatOptions options,
    [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
{
    await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync(message, options, cancellationToken))
    {
        // The last update carries only the finish reason.
        if (update.Text.Length > 0)
        {
            yield return update.Text;
        }
    }
}

/// <summary>A chat request: the message the model continues, and at most how many tokens it generates.</summary>
internal sealed record ChatRequest(string Message, int? MaxTokens)
{
    /// <summary>A 400 answer naming the problem, or null when the request is valid.</summary>
    public static IResult? Validate(ChatRequest request, IConfiguration configuration)
    {
        int limit = configuration.GetValue("Chat:MaxTokensLimit", 512);
        if (string.IsNullOrWhiteSpace(request.Message))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["message"] = ["Send the text to continue in \"message\"."] });
        }
        if (request.MaxTokens is < 1 || request.MaxTokens > limit)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["maxTokens"] = [$"\"maxTokens\" must be between 1 and {limit} (Chat:MaxTokensLimit)."] });
        }
        return null;
    }

    public ChatOptions Options(IConfiguration configuration) =>
        new() { MaxOutputTokens = MaxTokens ?? configuration.GetValue("Chat:DefaultMaxTokens", 64) };
}

/// <summary>The model's continuation of the message.</summary>
internal sealed record ChatReply(string Reply);
