using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoESdk.Samples.WebApi;

// The subset of OpenAI's chat completions API this server speaks, plus experts_per_token (the MoE compute budget).

/// <summary>POST /v1/chat/completions body.</summary>
public sealed record ChatCompletionRequest(
    string? Model,
    IReadOnlyList<RequestMessage>? Messages,
    int? MaxTokens,
    int? MaxCompletionTokens,
    float? Temperature,
    float? TopP,
    int? Seed,
    int? N,
    [property: JsonConverter(typeof(StopConverter))] IReadOnlyList<string>? Stop,
    bool Stream,
    StreamOptions? StreamOptions,
    int? ExpertsPerToken);

/// <summary>A request message: <c>content</c> is a string or an array of parts (<c>{"type":"text","text":...}</c>).</summary>
public sealed record RequestMessage(string? Role, [property: JsonConverter(typeof(ContentConverter))] IReadOnlyList<ContentPart>? Content);

/// <summary>One part of a message's content; only text parts can be served by a text model.</summary>
public sealed record ContentPart(string? Type, string? Text);

public sealed record StreamOptions(bool IncludeUsage);

public sealed record ResponseMessage(string Role, string Content);

public sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, UsageContract Usage, MoEUsage Moe);

public sealed record ChatChoice(int Index, ResponseMessage Message, string? FinishReason);

/// <summary>A streamed chunk; the last one, when the request asked for usage, has no choices and the usage.</summary>
public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageContract? Usage = null);

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

/// <summary><c>content</c>: a string (one text part) or an array of parts.</summary>
public sealed class ContentConverter : JsonConverter<IReadOnlyList<ContentPart>>
{
    private const string Problem = "'content' must be a string or an array of content parts ({\"type\":\"text\",\"text\":\"...\"}).";

    public override IReadOnlyList<ContentPart>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => [new ContentPart("text", reader.GetString())],
        JsonTokenType.StartArray => NestedArray.Read<ContentPart>(ref reader, options, Problem),
        _ => throw new JsonException(Problem),
    };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<ContentPart> value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, options);
}

/// <summary>A field that holds a string or an array of strings, read as a list either way.</summary>
public abstract class StringOrStringsConverter(string problem) : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => [reader.GetString()!],
        JsonTokenType.StartArray => NestedArray.Read<string>(ref reader, options, problem),
        _ => throw new JsonException(problem),
    };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, options);
}

/// <summary><c>stop</c>: a string or an array of strings.</summary>
public sealed class StopConverter() : StringOrStringsConverter("'stop' must be a string or an array of strings.");

/// <summary><c>prompt</c>: a string or an array of strings (several prompts are refused by the endpoint, by count).</summary>
public sealed class PromptConverter() : StringOrStringsConverter("'prompt' must be a string or an array of strings (token-id prompts are not accepted: send text).");

/// <summary>
/// An array a converter reads with a nested deserialization. The nested call reports paths from its own root
/// (<c>$[0].text</c>), which would name no field of the request: its error is thrown again without a path, so the
/// request's deserialization names the field from the request's root (<c>messages[0].content</c>).
/// </summary>
internal static class NestedArray
{
    public static List<T>? Read<T>(ref Utf8JsonReader reader, JsonSerializerOptions options, string problem)
    {
        try
        {
            return JsonSerializer.Deserialize<List<T>>(ref reader, options);
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } path ? $" (at {path[1..]})" : "";
            throw new JsonException(problem.TrimEnd('.') + where + ".", e);
        }
    }
}

/// <summary>
/// POST /v1/completions body (OpenAI's legacy text completions): <c>prompt</c> is a string, or an array of one string.
/// Fields this server cannot honour (<c>echo</c>, <c>logprobs</c>, <c>suffix</c>, <c>best_of</c> above 1) are read so
/// that they can be refused by name rather than ignored.
/// </summary>
public sealed record CompletionRequest(
    string? Model,
    [property: JsonConverter(typeof(PromptConverter))] IReadOnlyList<string>? Prompt,
    int? MaxTokens,
    float? Temperature,
    float? TopP,
    int? Seed,
    int? N,
    [property: JsonConverter(typeof(StopConverter))] IReadOnlyList<string>? Stop,
    bool Stream,
    StreamOptions? StreamOptions,
    int? ExpertsPerToken,
    bool Echo,
    int? Logprobs,
    string? Suffix,
    int? BestOf);

public sealed record TextCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices, UsageContract Usage, MoEUsage Moe);

/// <summary>One choice of a text completion or of a streamed chunk (<c>logprobs</c> always null: not computed).</summary>
public sealed record TextChoice(string Text, int Index, object? Logprobs, string? FinishReason);

/// <summary>A streamed text completion chunk; the last one, when the request asked for usage, has no choices and the usage.</summary>
public sealed record TextCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageContract? Usage = null);
