using System.Text.Encodings.Web;
using System.Text.Json;
using MoESdk.Hosting;

namespace MoESdk.Samples.WebApi;

/// <summary>The web app: one MoE model behind an OpenAI-compatible chat API, its live expert statistics and health.</summary>
public static class ChatApp
{
    /// <summary>The name of the served model: its configuration section is MoE:Models:kjv-llama.</summary>
    public const string ModelName = "kjv-llama";

    /// <summary>JSON as OpenAI's API writes it: snake_case names, text not escaped beyond what JSON needs (an API, not HTML).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static WebApplication Build(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Services.AddMoEModel(ModelName);
        builder.Services.Configure<ChatApiOptions>(builder.Configuration.GetSection(ChatApiOptions.Section));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

        WebApplication app = builder.Build();
        app.MapPost("/v1/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        app.MapGet("/v1/models", ModelsEndpoint.Handle);
        app.MapGet("/experts", ExpertsEndpoint.Handle);
        app.MapHealthChecks("/health");
        return app;
    }
}
