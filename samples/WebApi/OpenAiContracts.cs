using System.Text.Json.Serialization;

namespace MoESdk.Samples.WebApi;

// The subset of OpenAI's chat completions API this server speaks, plus experts_per_token (the MoE compute budget).

/// <summary>POST /v1/chat/completions body.</summary>
public sealed record ChatCompletionRequest(
    string? Model,
    IReadOnlyList<ChatMessageContract>? Messages,
    int? MaxTokens,
    int? MaxCompletionTokens,
    float? Temperature,
    float? TopP,
    int? Seed,
    bool Stream,
    int? ExpertsPerToken);

public sealed record ChatMessageContract(string? Role, string? Content);

public sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, UsageContract Usage, MoEUsage Moe);

public sealed record ChatChoice(int Index, ChatMessageContract Message, string? FinishReason);

public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices);

public sealed record ChunkChoice(int Index, ChunkDelta Delta, string? FinishReason);

/// <summary>What a chunk adds: the role in the first chunk, text in the others, nothing in the last.</summary>
public sealed record ChunkDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

public sealed record UsageContract(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>What the request cost in experts: routed experts that ran per token and layer.</summary>
public sealed record MoEUsage(int ExpertsPerToken);

public sealed record ModelList(string Object, IReadOnlyList<ModelContract> Data);

public sealed record ModelContract(string Id, string Object, long Created, string OwnedBy, int ContextLength, IReadOnlyList<int> ExpertsPerLayer, int DefaultExpertsPerToken);

public sealed record ErrorBody(ErrorDetail Error);

public sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);
