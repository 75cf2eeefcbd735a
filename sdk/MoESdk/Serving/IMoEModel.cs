using Microsoft.Extensions.AI;
using MoESdk.Chat;
using MoESdk.Evaluation;

namespace MoESdk.Serving;

/// <summary>
/// A loaded language model (Mixture-of-Experts or dense) served to many callers: streaming and complete
/// generation with per-token expert attribution, scoring, a per-request compute budget (experts run per
/// token), model metadata and live routing statistics. Also an <see cref="IChatClient"/>, whose
/// <see cref="IChatClient.GetService"/> hands out <see cref="MoEModelInfo"/> and <see cref="RoutingSnapshot"/>.
/// </summary>
/// <remarks>
/// Safe for concurrent use: requests run on a bounded queue (<see cref="MoEServingOptions"/>); when it is full,
/// calls throw <see cref="MoEQueueFullException"/>.
/// </remarks>
public interface IMoEModel : IChatClient
{
    /// <summary>What the model is: name, shape, experts per layer, default top-k.</summary>
    MoEModelInfo Info { get; }

    /// <summary>
    /// The model's chat template (tokenizer_config.json's <c>chat_template</c> or chat_template.jinja), used whenever
    /// chat messages are generated from; null for a base model, whose chat prompts are plain text (<see cref="PlainTextPrompt"/>).
    /// </summary>
    ChatTemplate? ChatTemplate { get; }

    /// <summary>The sampling generation_config.json recommends, applied to chat requests that leave it unset.</summary>
    GenerationDefaults GenerationDefaults { get; }

    /// <summary>Requests waiting for a free generation slot.</summary>
    int QueueLength { get; }

    /// <summary>Expert selections counted since the model was loaded (or last reset), per layer and expert.</summary>
    RoutingSnapshot GetRoutingStatistics();

    /// <summary>
    /// Generates a continuation of <paramref name="prompt"/>, token by token, as the model produces them. Nothing runs
    /// until the stream is enumerated.
    /// </summary>
    /// <exception cref="ArgumentException">At the call: an option is out of range or the prompt does not fit the context.</exception>
    /// <exception cref="MoEQueueFullException">At the first read: too many requests are waiting.</exception>
    MoEGenerationStream GenerateStreamingAsync(string prompt, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Generates the assistant's reply to <paramref name="messages"/>, token by token: the messages are rendered with the
    /// chat template (special-token strings in them stay text, see <see cref="ChatPrompt"/>), and generation stops at the
    /// template's end-of-turn token.
    /// </summary>
    /// <exception cref="Chat.Templates.TemplateException">The template failed on or refused the conversation.</exception>
    MoEGenerationStream GenerateStreamingAsync(IEnumerable<ChatMessage> messages, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Generates the assistant's reply to <paramref name="messages"/> and returns it whole.</summary>
    Task<MoEGenerationResult> GenerateAsync(IEnumerable<ChatMessage> messages, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>The prompt <paramref name="messages"/> become: its text and token ids (to inspect or count them).</summary>
    ChatPrompt FormatChatPrompt(IEnumerable<ChatMessage> messages, ChatTemplateOptions? options = null);

    /// <summary>Generates a continuation of <paramref name="prompt"/> and returns it whole.</summary>
    /// <exception cref="MoEQueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="ArgumentException">An option is out of range or the prompt does not fit the context.</exception>
    Task<MoEGenerationResult> GenerateAsync(string prompt, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Log-likelihood of <paramref name="text"/> under the model: every token after the first is predicted from
    /// the ones before it (in context-length windows for long texts); perplexity is exp of the mean negative log-likelihood.
    /// </summary>
    /// <param name="text">Text of at least two tokens.</param>
    /// <param name="expertsPerToken">Experts run per token for this request; null uses the model's default.</param>
    /// <param name="cancellationToken">Stops between windows.</param>
    Task<PerplexityResult> ScoreAsync(string text, int? expertsPerToken = null, CancellationToken cancellationToken = default);

    /// <summary>Runs one token through the model so the first real request does not pay for first-use costs.</summary>
    Task WarmUpAsync(CancellationToken cancellationToken = default);
}
