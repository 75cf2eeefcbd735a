using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace MoESdk.Samples.WebApi;

/// <summary>
/// Reads an OpenAI request body: JSON only (415 otherwise), refused (413) when its Content-Length is over the limit,
/// before reading, or as soon as the read passes it, so a big body never sits in memory; invalid JSON is a 400 naming
/// the field from the request's root.
/// </summary>
public static class OpenAiBody
{
    /// <summary>The request, or null once an error response has been written.</summary>
    /// <param name="shape">What the body must be, said when it is not a JSON object at all ("a JSON object with 'messages'").</param>
    public static async Task<T?> ReadAsync<T>(HttpContext context, long limit, string shape)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await OpenAiErrors.WriteForStatusAsync(context);
            return null;
        }
        try
        {
            if (context.Request.ContentLength > limit)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = limit;
            }
            T? request = await JsonSerializer.DeserializeAsync<T>(context.Request.Body, ChatApp.Json, context.RequestAborted);
            if (request is null)
            {
                await OpenAiErrors.BadRequest($"The request body must be {shape}.", code: "invalid_json").ExecuteAsync(context);
            }
            return request;
        }
        catch (JsonException e)
        {
            string? param = e.Path is { Length: > 2 } path ? path[2..] : null;
            await OpenAiErrors.BadRequest($"The request body is not valid JSON for this request: {Describe(e, param, shape)}", param, "invalid_json").ExecuteAsync(context);
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await OpenAiErrors.WriteForStatusAsync(context);
            return null;
        }
    }

    /// <summary>
    /// The serializer's "could not be converted to T" names .NET types the client never sees: say which field holds a
    /// value of the wrong type instead.
    /// </summary>
    private static string Describe(JsonException e, string? param, string shape) =>
        !e.Message.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal) ? e.Message
        : param is null ? $"the body must be {shape}."
        : $"'{param}' holds a value of the wrong type, or a number out of its range.";
}
