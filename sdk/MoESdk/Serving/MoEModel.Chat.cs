using System.Globalization;
using Microsoft.Extensions.AI;
using MoESdk.Chat;
using MoESdk.Inference;
using MoESdk.Modules;

namespace MoESdk.Serving;

/// <summary>
/// The <see cref="IChatClient"/> side: chat messages become the prompt the model's chat template renders
/// (<see cref="ChatPrompt"/>), or a plain-text prompt for a base model (<see cref="PlainTextPrompt"/>); sampling a
/// request leaves unset comes from generation_config.json (<see cref="GenerationDefaults"/>).
/// </summary>
public sealed partial class MoEModel
{
    /// <summary>
    /// Key of <see cref="ChatOptions.AdditionalProperties"/> that sets a request's experts per token
    /// (<see cref="MoEGenerationOptions.ExpertsPerToken"/>).
    /// </summary>
    public const string ExpertsPerTokenProperty = "experts_per_token";

    /// <summary>
    /// Key of <see cref="ChatOptions.AdditionalProperties"/> whose value, an <see cref="ExpertRoutingPolicy"/>, sets a
    /// request's routing policy (<see cref="MoEGenerationOptions.RoutingPolicy"/>).
    /// </summary>
    public const string RoutingPolicyProperty = "routing_policy";

    /// <summary>
    /// Key of <see cref="ChatOptions.AdditionalProperties"/> whose value, a dictionary, holds extra chat template
    /// variables (e.g. <c>{"enable_thinking": false}</c>), as <see cref="ChatTemplateOptions.Arguments"/>.
    /// </summary>
    public const string ChatTemplateArgumentsProperty = "chat_template_kwargs";

    /// <summary>Tokens generated when <see cref="ChatOptions.MaxOutputTokens"/> is not set.</summary>
    public const int DefaultMaxOutputTokens = 256;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        MoEGenerationResult result = await GenerateAsync(messages, ToGenerationOptions(options), cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            ModelId = Info.Name,
            ResponseId = NewResponseId(),
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = ToChatFinishReason(result.FinishReason),
            Usage = Usage(result.PromptTokens, result.Tokens.Count),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        MoEGenerationStream stream = GenerateStreamingAsync(messages, ToGenerationOptions(options), cancellationToken);
        string id = NewResponseId();
        int count = 0;
        await foreach (GeneratedToken token in stream.ConfigureAwait(false))
        {
            count++;
            if (token.Text.Length > 0)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, token.Text) { ModelId = Info.Name, ResponseId = id, CreatedAt = DateTimeOffset.UtcNow };
            }
        }
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = Info.Name,
            ResponseId = id,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = ToChatFinishReason(stream.FinishReason),
            Contents = [new UsageContent(Usage(stream.PromptTokens, count))],
        };
    }

    /// <summary>This model, its <see cref="ChatClientMetadata"/>, <see cref="MoEModelInfo"/> or a <see cref="RoutingSnapshot"/> taken now.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }
        if (serviceType == typeof(ChatClientMetadata))
        {
            return new ChatClientMetadata("MoESdk", defaultModelId: Info.Name);
        }
        if (serviceType == typeof(MoEModelInfo))
        {
            return Info;
        }
        if (serviceType == typeof(RoutingSnapshot))
        {
            return GetRoutingStatistics();
        }
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>
    /// A chat request's options: what it sets, else the model's <see cref="GenerationDefaults"/>, else greedy decoding.
    /// </summary>
    private MoEGenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        options ??= new ChatOptions();
        int? experts = null;
        if (options.AdditionalProperties?.TryGetValue(ExpertsPerTokenProperty, out object? value) == true && value is not null)
        {
            experts = Convert.ToInt32(value, CultureInfo.InvariantCulture);
        }
        ExpertRoutingPolicy? policy = null;
        if (options.AdditionalProperties?.TryGetValue(RoutingPolicyProperty, out object? policyValue) == true && policyValue is not null)
        {
            policy = policyValue as ExpertRoutingPolicy ?? throw new ArgumentException(
                $"Chat option '{RoutingPolicyProperty}' must be an {nameof(ExpertRoutingPolicy)}, was {policyValue.GetType().Name}.", nameof(options));
        }
        return new MoEGenerationOptions
        {
            MaxTokens = options.MaxOutputTokens ?? DefaultMaxOutputTokens,
            Sampling = GenerationDefaults.Sampling(options.Temperature, options.TopP, options.TopK, (int?)options.Seed),
            StopSequences = [.. options.StopSequences ?? []],
            ExpertsPerToken = experts,
            RoutingPolicy = policy,
            IncludeExperts = false,
            Chat = new ChatTemplateOptions { Tools = ChatMessageValues.FromTools(options.Tools), Arguments = TemplateArguments(options) },
        };
    }

    private static IReadOnlyDictionary<string, object?>? TemplateArguments(ChatOptions options)
    {
        if (options.AdditionalProperties?.TryGetValue(ChatTemplateArgumentsProperty, out object? value) != true || value is null)
        {
            return null;
        }
        return value switch
        {
            IReadOnlyDictionary<string, object?> arguments => arguments,
            IDictionary<string, object?> arguments => arguments.ToDictionary(),
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Object } json =>
                json.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone()),
            _ => throw new ArgumentException(
                $"Chat option '{ChatTemplateArgumentsProperty}' must be a dictionary of template variables, was {value.GetType().Name}.", nameof(options)),
        };
    }

    private static ChatFinishReason? ToChatFinishReason(FinishReason reason) => reason switch
    {
        FinishReason.Stop => ChatFinishReason.Stop,
        FinishReason.MaxTokens or FinishReason.ContextFull => ChatFinishReason.Length,
        _ => null,
    };

    private static UsageDetails Usage(int prompt, int generated) =>
        new() { InputTokenCount = prompt, OutputTokenCount = generated, TotalTokenCount = prompt + generated };

    private static string NewResponseId() => "moe-" + Guid.NewGuid().ToString("N");
}
