using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>The length and sampling fields chat and text completions share, checked against this server's limits.</summary>
public static class SamplingFields
{
    /// <summary>OpenAI accepts up to 4 stop sequences.</summary>
    public const int MaxStopSequences = 4;

    /// <summary>OpenAI's default temperature; a model whose generation_config.json sets one keeps its own.</summary>
    public const float OpenAiDefaultTemperature = 1f;

    /// <summary>The first field out of range as a 400, or null.</summary>
    public static IResult? Check(int maxTokens, float? temperature, float? topP, int? n, IReadOnlyList<string>? stop, ChatApiOptions limits)
    {
        if (maxTokens < 1 || maxTokens > limits.MaxTokensLimit)
        {
            return OpenAiErrors.BadRequest($"max_tokens must be in 1..{limits.MaxTokensLimit} on this server, was {maxTokens}.", "max_tokens");
        }
        if (temperature is float t && !(t >= 0 && t <= 2))
        {
            return OpenAiErrors.BadRequest($"temperature must be in 0..2, was {temperature}.", "temperature");
        }
        if (topP is float p && !(p > 0 && p <= 1))
        {
            return OpenAiErrors.BadRequest($"top_p must be in (0, 1], was {topP}.", "top_p");
        }
        if (n is int count && count != 1)
        {
            return OpenAiErrors.BadRequest($"n must be 1 on this server (one choice per request), was {count}: send {count} requests instead.", "n");
        }
        if (stop is not null && (stop.Count > MaxStopSequences || stop.Any(string.IsNullOrEmpty)))
        {
            return OpenAiErrors.BadRequest($"stop must be a non-empty string or up to {MaxStopSequences} non-empty strings.", "stop");
        }
        return null;
    }

    /// <summary>The temperature a request gets: its own, else the model's generation_config.json's, else OpenAI's 1.</summary>
    public static float? Temperature(float? requested, IMoEModel model) =>
        requested ?? (model.GenerationDefaults.Temperature is null ? OpenAiDefaultTemperature : null);
}
