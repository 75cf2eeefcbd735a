namespace MoEWorker;

/// <summary>What the worker generates: the configuration section <c>Completions</c>.</summary>
public sealed class CompletionOptions
{
    public const string Section = "Completions";

    /// <summary>Each prompt is continued once, in order.</summary>
    public List<string> Prompts { get; init; } = [];

    /// <summary>At most this many tokens per completion.</summary>
    public int MaxTokens { get; init; } = 32;
}
