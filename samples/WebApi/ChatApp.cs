using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using MoESdk.Hosting;

namespace MoESdk.Samples.WebApi;

/// <summary>The web app: one MoE model behind an OpenAI-compatible chat and text completions API, its live expert statistics and health.</summary>
public static class ChatApp
{
    /// <summary>The name of the served model: its configuration section is MoE:Models:kjv-llama.</summary>
    public const string ModelName = "kjv-llama";

    /// <summary>
    /// JSON as OpenAI's API writes it: snake_case names, text not escaped beyond what JSON needs (an API, not HTML).
    /// Numbers must be JSON numbers: <c>"temperature":"NaN"</c> is an error naming the field, not a NaN.
    /// </summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Builds the app; <paramref name="chat"/> may add middleware to the model's chat pipeline (logging, telemetry, caching).</summary>
    public static WebApplication Build(string[] args, Action<IMoEModelBuilder>? chat = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        IMoEModelBuilder model = builder.Services.AddMoEModel(ModelName);
        chat?.Invoke(model);
        builder.Services.Configure<ChatApiOptions>(builder.Configuration.GetSection(ChatApiOptions.Section));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        // Kestrel refuses a larger body as it arrives (the endpoint also checks Content-Length up front).
        long bodyLimit = builder.Configuration.GetSection(ChatApiOptions.Section).Get<ChatApiOptions>()?.MaxRequestBodyBytes ?? new ChatApiOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = bodyLimit);

        WebApplication app = builder.Build();
        // Unknown routes, wrong methods and server limits answer in OpenAI's error shape too.
        app.UseStatusCodePages(context => OpenAiErrors.WriteForStatusAsync(context.HttpContext));
        app.MapPost("/v1/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        app.MapPost("/v1/completions", CompletionsEndpoint.HandleAsync);
        app.MapGet("/v1/models", ModelsEndpoint.Handle);
        app.MapGet("/v1/models/{id}", ModelsEndpoint.HandleOne);
        app.MapGet("/experts", ExpertsEndpoint.Handle);
        app.MapHealthChecks("/health");
        return app;
    }
}
