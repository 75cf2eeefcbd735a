using System.Globalization;
using Microsoft.Extensions.AI;
using MoESdk.Inference;
using MoESdk.Modules;

namespace MoESdk.Serving;

/// <summary>The <see cref="IChatClient"/> side: chat messages become a plain-text prompt (<see cref="PlainTextPrompt"/>).</summary>
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

    /// <summary>Tokens generated when <see cref="ChatOptions.MaxOutputTokens"/> is not set.</summary>
    public const int DefaultMaxOutputTokens = 256;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        MoEGenerationResult result = await GenerateAsync(PlainTextPrompt.Format(messages), ToGenerationOptions(options), cancellationToken).ConfigureAwait(false);
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
        MoEGenerationStream stream = GenerateStreamingAsync(PlainTextPrompt.Format(messages), ToGenerationOptions(options), cancellationToken);
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

    private static MoEGenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        if (options is null)
        {
            return new MoEGenerationOptions { MaxTokens = DefaultMaxOutputTokens };
        }
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
            Sampling = new SamplingOptions
            {
                Temperature = options.Temperature ?? 0f,
                TopP = options.TopP ?? 1f,
                TopK = options.TopK ?? 0,
                Seed = (int?)options.Seed,
            },
            StopSequences = [.. options.StopSequences ?? []],
            ExpertsPerToken = experts,
            RoutingPolicy = policy,
            IncludeExperts = false,
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
