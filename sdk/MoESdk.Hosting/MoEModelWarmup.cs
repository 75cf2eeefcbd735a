using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MoESdk.Serving;

namespace MoESdk.Hosting;

/// <summary>
/// Loads a model's weights and runs one token through it while the host starts, so the host fails at once on a model
/// that cannot load and the first request does not pay for loading.
/// </summary>
internal sealed class MoEModelWarmup(string name, IServiceProvider services, MoEModelReadiness readiness) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        MoEModelOptions options = services.GetRequiredService<IOptionsMonitor<MoEModelOptions>>().Get(name);
        try
        {
            IMoEModel model = services.GetRequiredKeyedService<IMoEModel>(name);
            if (options.WarmUp)
            {
                await model.WarmUpAsync(cancellationToken).ConfigureAwait(false);
            }
            readiness.MarkReady();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            readiness.MarkFailed(e);
            throw new InvalidOperationException($"Model '{name}' at '{options.Path}' could not be loaded: {e.Message}", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
