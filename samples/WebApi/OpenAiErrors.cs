namespace MoESdk.Samples.WebApi;

/// <summary>Errors in OpenAI's shape: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public static class OpenAiErrors
{
    public static IResult BadRequest(string message, string? param = null, string? code = null) =>
        Result(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static IResult ModelNotFound(string model) =>
        Result(StatusCodes.Status404NotFound, $"The model '{Echo(model)}' does not exist; GET /v1/models lists the models served.", "invalid_request_error", "model", "model_not_found");

    public static IResult Overloaded(string message) =>
        Result(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "server_overloaded");

    /// <summary>A value from the request as an error message quotes it: at most 64 characters, so a huge value is not sent back whole.</summary>
    public static string? Echo(string? value) =>
        value is { Length: > 64 } ? value[..(char.IsHighSurrogate(value[63]) ? 63 : 64)] + "…" : value;

    public static IResult Result(int status, string message, string type, string? param, string? code) =>
        Results.Json(new ErrorBody(new ErrorDetail(message, type, param, code)), ChatApp.Json, statusCode: status);

    /// <summary>
    /// The body of an error response that has none yet (unknown route, wrong method, a limit of the server): every
    /// 4xx and 5xx leaves in OpenAI's shape.
    /// </summary>
    public static Task WriteForStatusAsync(HttpContext context)
    {
        int status = context.Response.StatusCode;
        string request = $"{context.Request.Method} {context.Request.Path}";
        (string message, string? code) = status switch
        {
            StatusCodes.Status404NotFound => ($"Unknown request URL: {request}. The API serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models and GET /v1/models/{{id}}.", "unknown_url"),
            StatusCodes.Status405MethodNotAllowed => ($"Method {context.Request.Method} is not allowed for {context.Request.Path}.", "method_not_allowed"),
            StatusCodes.Status413PayloadTooLarge => ("The request body is larger than this server accepts.", "request_too_large"),
            StatusCodes.Status415UnsupportedMediaType => ("Send the request body as JSON with the header 'Content-Type: application/json'.", "unsupported_media_type"),
            _ => ($"The request {request} failed with status {status}.", null),
        };
        return Result(status, message, status >= 500 ? "server_error" : "invalid_request_error", null, code).ExecuteAsync(context);
    }
}
