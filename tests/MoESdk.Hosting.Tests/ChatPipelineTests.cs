using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

/// <summary>Microsoft.Extensions.AI middleware composed around a registered model.</summary>
[Collection(ModelCollection.Name)]
public sealed class ChatPipelineTests(TestModels models)
{
    /// <summary>Middleware that counts the calls through it and what they asked, then passes them on.</summary>
    private sealed class CallLog
    {
        public List<(string Text, int? MaxTokens)> Calls { get; } = [];

        public ChatClientBuilder AddTo(ChatClientBuilder builder) => builder.Use(async (messages, options, next, cancellationToken) =>
        {
            lock (Calls)
            {
                Calls.Add((string.Concat(messages.Select(m => m.Text)), options?.MaxOutputTokens));
            }
            await next(messages, options, cancellationToken);
        });
    }

    [Fact]
    public async Task MiddlewareSeesTheCallsAndTheModelIsStillInjectable()
    {
        var log = new CallLog();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["MoE:Models:tiny:Path"] = models.ArtifactPath });
        log.AddTo(builder.Services.AddMoEModel("tiny").ChatClient).UseOpenTelemetry();
        using IHost host = builder.Build();

        IChatClient chat = host.Services.GetRequiredKeyedService<IChatClient>("tiny");
        IMoEModel model = host.Services.GetRequiredService<IMoEModel>();
        ChatResponse response = await chat.GetResponseAsync("In the beginning", new ChatOptions { MaxOutputTokens = 5, Temperature = 0 });
        ChatResponse streamed = await chat.GetStreamingResponseAsync("In the beginning", new ChatOptions { MaxOutputTokens = 5, Temperature = 0 }).ToChatResponseAsync();

        Assert.IsType<MoEModel>(model);
        Assert.NotSame(model, chat);
        Assert.Same(chat, host.Services.GetRequiredService<IChatClient>());
        Assert.Same(model, chat.GetService<IMoEModel>());
        Assert.Equal([("In the beginning", (int?)5), ("In the beginning", 5)], log.Calls);
        Assert.Equal(response.Text, streamed.Text);
        Assert.Equal((await model.GenerateAsync("In the beginning", new MoEGenerationOptions { MaxTokens = 5 })).Text, response.Text);
    }

    [Fact]
    public async Task TheChatApiGoesThroughTheMiddleware()
    {
        var log = new CallLog();
        await using SampleServer server = await SampleServer.StartAsync(models, model => log.AddTo(model.ChatClient));

        using var content = new StringContent("""{"messages":[{"role":"user","content":"And God said"}],"max_tokens":3,"temperature":0}""", Encoding.UTF8, "application/json");
        JsonElement body = await (await server.Http.PostAsync("v1/chat/completions", content)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal(("And God said", (int?)3), Assert.Single(log.Calls));
    }
}
