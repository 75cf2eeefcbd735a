namespace MoESdk.Serving;

/// <summary>A prompt that leaves no room in the model's context for an answer.</summary>
public sealed class PromptTooLongException : ArgumentException
{
    public PromptTooLongException(string model, int promptTokens, int contextLength)
        : base($"The prompt has {promptTokens} tokens, but model '{model}' holds {contextLength} positions for prompt and answer together; shorten the prompt.", "prompt")
    {
        PromptTokens = promptTokens;
        ContextLength = contextLength;
    }

    /// <summary>Tokens the prompt was encoded into.</summary>
    public int PromptTokens { get; }

    /// <summary>Positions the model holds for prompt and answer together.</summary>
    public int ContextLength { get; }
}
