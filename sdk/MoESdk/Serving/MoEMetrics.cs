using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MoESdk.Serving;

/// <summary>
/// The SDK's telemetry: the "MoESdk" meter (tokens, latency, throughput, queue length, expert selections, load
/// imbalance) and the "MoESdk" activity source (one span per request). Every measurement is tagged with the model name.
/// </summary>
internal sealed class MoEMetrics : IDisposable
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "MoESdk";

    public static ActivitySource ActivitySource { get; } = new(Name);

    private readonly Meter _meter;
    private readonly KeyValuePair<string, object?> _model;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Counter<long> _expertSelections;

    public MoEMetrics(string model, Func<int> queueLength, Func<RoutingSnapshot> routing, IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(Name) ?? new Meter(Name);
        _model = new("moe.model", model);
        _tokens = _meter.CreateCounter<long>("moesdk.tokens.generated", "{token}", "Tokens generated.");
        _timeToFirstToken = _meter.CreateHistogram<double>("moesdk.time_to_first_token", "s", "Time from a request's start (queueing included) to its first token.");
        _tokensPerSecond = _meter.CreateHistogram<double>("moesdk.tokens_per_second", "{token}/s", "Decode speed of a request after its first token.");
        _expertSelections = _meter.CreateCounter<long>("moesdk.expert.selections", "{selection}", "Times an expert was chosen for a token, by layer and expert.");
        _meter.CreateObservableGauge("moesdk.queue.length", () => new Measurement<int>(queueLength(), _model), "{request}", "Requests waiting for a generation slot.");
        _meter.CreateObservableGauge("moesdk.expert.load_imbalance", () => routing().Layers.Select(l =>
            new Measurement<double>(l.LoadImbalance, _model, new("moe.layer", l.Layer))), "1", "Busiest expert's selections over the mean, per layer.");
    }

    public void TokensGenerated(int count) => _tokens.Add(count, _model);

    public void FirstToken(TimeSpan sinceStart) => _timeToFirstToken.Record(sinceStart.TotalSeconds, _model);

    public void DecodeSpeed(int tokensAfterFirst, TimeSpan duration)
    {
        if (tokensAfterFirst > 0 && duration > TimeSpan.Zero)
        {
            _tokensPerSecond.Record(tokensAfterFirst / duration.TotalSeconds, _model);
        }
    }

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
