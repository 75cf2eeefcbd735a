namespace MoESdk.Hosting;

/// <summary>Whether a registered model has been loaded and warmed up, or why it could not be.</summary>
public sealed class MoEModelReadiness
{
    private volatile Exception? _failure;
    private volatile bool _ready;

    public MoEModelReadiness(string name) => Name = name;

    public string Name { get; }

    public bool IsReady => _ready;

    /// <summary>Why loading or warming up failed; null when it has not (yet).</summary>
    public Exception? Failure => _failure;

    internal void MarkReady() => _ready = true;

    internal void MarkFailed(Exception failure) => _failure = failure;
}
