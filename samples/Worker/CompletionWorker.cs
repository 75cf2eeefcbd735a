using MoESdk.Serving;

namespace MoESdk.Samples.Worker;

/// <summary>Completes the configured prompts with the injected model, logs each completion and its experts, then stops the app.</summary>
public sealed partial class CompletionWorker(IMoEModel model, IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<CompletionWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string[] prompts = configuration.GetSection("Prompts").Get<string[]>() ?? ["In the beginning"];
        foreach (string prompt in prompts)
        {
            MoEGenerationResult result = await model.GenerateAsync(prompt, new MoEGenerationOptions { MaxTokens = 40 }, stoppingToken);
            LogCompletion(prompt, result.Text, result.Tokens.Count, result.ExpertsPerToken);
        }
        RoutingSnapshot routing = model.GetRoutingStatistics();
        LogRouting(routing.Tokens, routing.MaxLoadImbalance);
        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Prompt} → {Completion} ({Tokens} tokens, {Experts} experts per token)")]
    private partial void LogCompletion(string prompt, string completion, int tokens, int experts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Routed {Tokens} token positions; largest load imbalance {Imbalance:F2}")]
    private partial void LogRouting(long tokens, double imbalance);
}
