namespace MoESdk.Samples.WebApi;

/// <summary>Limits of the chat API (configuration section "ChatApi").</summary>
public sealed class ChatApiOptions
{
    public const string Section = "ChatApi";

    /// <summary>Largest max_tokens a request may ask for: bounds the time one request holds the model.</summary>
    public int MaxTokensLimit { get; set; } = 512;

    /// <summary>max_tokens of a request that does not say.</summary>
    public int DefaultMaxTokens { get; set; } = 128;

    /// <summary>
    /// Largest request body in bytes: a bigger one is refused (413) before it is read, or as soon as the read passes
    /// the limit, so it never grows the server.
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;
}
