using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MoESdk.Serving;

/// <summary>
/// The SDK's telemetry: the "MoESdk" meter and activity source (one span per request). Request latencies follow the
/// OpenTelemetry GenAI semantic conventions (gen_ai.server.* histograms with gen_ai.operation.name,
/// gen_ai.provider.name and gen_ai.request.model); what only a Mixture-of-Experts server has (expert selections, load
/// imbalance), its queue and its token count are moesdk.* instruments tagged moe.model.
/// </summary>
internal sealed class MoEMetrics : IDisposable
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "MoESdk";

    public static ActivitySource ActivitySource { get; } = new(Name);

    /// <summary>gen_ai.provider.name of this engine.</summary>
    public const string ProviderName = "moesdk";

    private readonly Meter _meter;
    private readonly KeyValuePair<string, object?> _model;
    private readonly string _modelName;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _expertSelections;

    public MoEMetrics(string model, Func<int> queueLength, Func<RoutingSnapshot> routing, IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(Name) ?? new Meter(Name);
        _model = new("moe.model", model);
        _modelName = model;
        _tokens = _meter.CreateCounter<long>("moesdk.tokens.generated", "{token}", "Tokens generated.");
        _timeToFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from a request's start (queueing included) to its first token.");
        _timePerOutputToken = _meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per output token after the first, per request.");
        _requestDuration = _meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Time from a request's start (queueing included) to its end.");
        _expertSelections = _meter.CreateCounter<long>("moesdk.expert.selections", "{selection}", "Times an expert was chosen for a token, by layer and expert.");
        _meter.CreateObservableGauge("moesdk.queue.length", () => new Measurement<int>(queueLength(), _model), "{request}", "Requests waiting for a generation slot.");
        _meter.CreateObservableGauge("moesdk.expert.load_imbalance", () => routing().Layers.Select(l =>
            new Measurement<double>(l.LoadImbalance, _model, new("moe.layer", l.Layer))), "1", "Busiest expert's selections over the mean, per layer.");
    }

    public void TokensGenerated(int count) => _tokens.Add(count, _model);

    public void FirstToken(string operation, TimeSpan sinceStart) => _timeToFirstToken.Record(sinceStart.TotalSeconds, GenAITags(operation));

    public void TimePerOutputToken(string operation, int tokensAfterFirst, TimeSpan duration)
    {
        if (tokensAfterFirst > 0 && duration > TimeSpan.Zero)
        {
            _timePerOutputToken.Record(duration.TotalSeconds / tokensAfterFirst, GenAITags(operation));
        }
    }

    public void RequestDuration(string operation, TimeSpan duration) => _requestDuration.Record(duration.TotalSeconds, GenAITags(operation));

    /// <summary>The finish reason the GenAI conventions record, in OpenAI's words.</summary>
    public static string FinishReasonName(Inference.FinishReason reason) => reason switch
    {
        Inference.FinishReason.MaxTokens or Inference.FinishReason.ContextFull => "length",
        _ => "stop",
    };

    private TagList GenAITags(string operation) => new()
    {
        { "gen_ai.operation.name", operation },
        { "gen_ai.provider.name", ProviderName },
        { "gen_ai.request.model", _modelName },
    };

    public void ExpertSelections(long[][] counts)
    {
        for (int layer = 0; layer < counts.Length; layer++)
        {
            for (int expert = 0; expert < counts[layer].Length; expert++)
            {
                if (counts[layer][expert] > 0)
                {
                    _expertSelections.Add(counts[layer][expert], _model, new("moe.layer", layer), new("moe.expert", expert));
                }
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
