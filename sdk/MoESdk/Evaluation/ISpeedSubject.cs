namespace MoESdk.Evaluation;

/// <summary>
/// Something <see cref="SpeedBenchmark"/> measures: a model in one of this engine's sessions, or another engine on the
/// same weights (<c>moe bench --peer</c>). Each run starts from an empty context.
/// </summary>
internal interface ISpeedSubject : IDisposable
{
    /// <summary>Seconds to prefill <paramref name="prompt"/>, then to decode <paramref name="decodeTokens"/> tokens one at a time, each the argmax fed back.</summary>
    (double PrefillSeconds, double DecodeSeconds) Run(int[] prompt, int decodeTokens);
}
