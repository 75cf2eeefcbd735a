using Microsoft.Extensions.Options;
using MoESdk.Serving;

namespace MoEWorker;

/// <summary>Continues each configured prompt with the MoE model, logs the completions, then stops the application.</summary>
public sealed partial class CompletionWorker(IMoEModel model, IOptions<CompletionOptions> options, IHostApplicationLifetime lifetime, ILogger<CompletionWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CompletionOptions completions = options.Value;
        try
        {
            for (int i = 0; i < completions.Prompts.Count; i++)
            {
                string prompt = completions.Prompts[i];
                MoEGenerationResult result = await model.GenerateAsync(prompt, new MoEGenerationOptions { MaxTokens = completions.MaxTokens }, stoppingToken);
                LogCompletion(i + 1, completions.Prompts.Count, result.Tokens.Count, result.ExpertsPerToken, prompt, result.Text);
            }
            LogDone(completions.Prompts.Count, model.Info.Name);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(e);
            // The host stops either way; a non-zero exit code tells scripts and schedulers that the run failed.
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Completion {Index}/{Count} ({Tokens} tokens, {ExpertsPerToken} experts per token): {Prompt} → {Text}")]
    private partial void LogCompletion(int index, int count, int tokens, int expertsPerToken, string prompt, string text);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated {Count} completions with {Model}; stopping")]
    private partial void LogDone(int count, string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generating the completions failed")]
    private partial void LogFailed(Exception exception);
}
