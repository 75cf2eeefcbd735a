using System.Text.Json;
using Microsoft.Extensions.AI;

namespace MoESdk.Chat;

/// <summary>
/// <see cref="ChatMessage"/>s and tool declarations as chat templates expect them (the OpenAI message shape
/// transformers uses): <c>role</c>, <c>content</c>, <c>reasoning_content</c>, <c>tool_calls</c> with
/// <c>{"type": "function", "function": {"name", "arguments"}}</c>, and tool results as <c>tool</c> messages.
/// </summary>
internal static class ChatMessageValues
{
    public static List<object?> FromMessages(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var values = new List<object?>();
        foreach (ChatMessage message in messages)
        {
            var value = new Dictionary<string, object?> { ["role"] = message.Role.Value };
            FunctionResultContent? result = message.Contents.OfType<FunctionResultContent>().FirstOrDefault();
            value["content"] = result is not null && message.Text.Length == 0 ? ResultText(result.Result) : message.Text;
            if (result is not null)
            {
                value["tool_call_id"] = result.CallId;
            }
            string reasoning = string.Concat(message.Contents.OfType<TextReasoningContent>().Select(r => r.Text));
            if (reasoning.Length > 0)
            {
                value["reasoning_content"] = reasoning;
            }
            List<object?> calls = message.Contents.OfType<FunctionCallContent>().Select(call => (object?)new Dictionary<string, object?>
            {
                ["id"] = call.CallId,
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?>
                {
                    ["name"] = call.Name,
                    ["arguments"] = JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>()),
                },
            }).ToList();
            if (calls.Count > 0)
            {
                value["tool_calls"] = calls;
            }
            values.Add(value);
        }
        return values;
    }

    /// <summary>Function declarations as <c>{"type": "function", "function": {"name", "description", "parameters"}}</c>; null when there are none.</summary>
    public static List<object?>? FromTools(IEnumerable<AITool>? tools)
    {
        List<object?>? values = tools?.OfType<AIFunctionDeclaration>().Select(tool => (object?)new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?>
            {
                ["name"] = tool.Name,
                ["description"] = tool.Description,
                ["parameters"] = tool.JsonSchema,
            },
        }).ToList();
        return values is { Count: > 0 } ? values : null;
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => JsonSerializer.Serialize(result),
    };
}
