using Microsoft.Extensions.AI;

namespace MoESdk.Serving;

/// <summary>
/// Turns chat messages into the prompt of a plain-text (base) language model, which has no chat template and is
/// trained to continue text; a model with a template renders it instead (<see cref="Chat.ChatPrompt"/>). The messages' texts, in order and whatever their role, are joined by a
/// line break, and the model continues after the last one. So a single user message "In the beginning" is the prompt
/// "In the beginning"; a system message, if any, is simply the first paragraph of the text.
/// </summary>
internal static class PlainTextPrompt
{
    public static string Format(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return string.Join('\n', messages.Select(m => m.Text).Where(t => !string.IsNullOrEmpty(t)));
    }
}
