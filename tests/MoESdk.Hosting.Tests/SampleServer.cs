using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MoESdk.Samples.WebApi;

namespace MoESdk.Hosting.Tests;

/// <summary>The sample web app on a real Kestrel server on 127.0.0.1 (any free port), serving the test artifact.</summary>
internal sealed class SampleServer : IAsyncDisposable
{
    private SampleServer(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Address { get; }

    public HttpClient Http { get; }

    public static async Task<SampleServer> StartAsync(TestModels models, Action<IMoEModelBuilder>? chat = null, params string[] settings)
    {
        WebApplication app = ChatApp.Build([
            "--urls", "http://127.0.0.1:0",
            "--environment", "Production",
            $"--MoE:Models:kjv-llama:Path={models.ArtifactPath}",
            "--Logging:LogLevel:Default=Warning",
            .. settings,
        ], chat);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new SampleServer(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
    }
}
