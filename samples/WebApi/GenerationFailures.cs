using MoESdk.Chat.Templates;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>
/// What a generation request can fail with once accepted, as OpenAI errors: a full queue (503 with Retry-After), a
/// prompt longer than the context (<c>context_length_exceeded</c>), a chat template that cannot render the messages, an
/// option the model refuses. Only before the response has started: a stream that fails later just ends.
/// </summary>
public static class GenerationFailures
{
    public static bool Maps(Exception e) => e is MoEQueueFullException or TemplateException or PromptTooLongException or ArgumentException;

    /// <param name="prompt">The request field that holds the prompt: messages, or prompt.</param>
    public static Task WriteAsync(HttpContext context, Exception e, string prompt)
    {
        IResult error;
        switch (e)
        {
            case MoEQueueFullException full:
                context.Response.Headers.RetryAfter = "1";
                error = OpenAiErrors.Overloaded(full.Message);
                break;
            case TemplateException template:
                error = OpenAiErrors.BadRequest($"The model's chat template cannot render these messages: {template.Problem}", prompt);
                break;
            case PromptTooLongException tooLong:
                string verb = prompt == "messages" ? "are" : "is";
                error = OpenAiErrors.BadRequest(
                    $"This model's maximum context length is {tooLong.ContextLength} tokens, and the {prompt} {verb} {tooLong.PromptTokens} tokens: shorten the {prompt}.",
                    prompt, "context_length_exceeded");
                break;
            default:
                var argument = (ArgumentException)e;
                string param = argument.ParamName switch
                {
                    nameof(MoEGenerationOptions.ExpertsPerToken) => "experts_per_token",
                    nameof(MoEGenerationOptions.StopSequences) => "stop",
                    _ => prompt,
                };
                error = OpenAiErrors.BadRequest(WithoutParameterName(argument), param);
                break;
        }
        return error.ExecuteAsync(context);
    }

    /// <summary>The exception's message without .NET's " (Parameter 'x')" tail: the API names the field itself.</summary>
    private static string WithoutParameterName(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
}
