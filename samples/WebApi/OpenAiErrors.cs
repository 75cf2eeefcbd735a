namespace MoESdk.Samples.WebApi;

/// <summary>Errors in OpenAI's shape: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public static class OpenAiErrors
{
    public static IResult BadRequest(string message, string? param = null, string? code = null) =>
        Result(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static IResult ModelNotFound(string model) =>
        Result(StatusCodes.Status404NotFound, $"The model '{model}' does not exist; GET /v1/models lists the models served.", "invalid_request_error", "model", "model_not_found");

    public static IResult Overloaded(string message) =>
        Result(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "server_overloaded");

    public static IResult Result(int status, string message, string type, string? param, string? code) =>
        Results.Json(new ErrorBody(new ErrorDetail(message, type, param, code)), ChatApp.Json, statusCode: status);
}
