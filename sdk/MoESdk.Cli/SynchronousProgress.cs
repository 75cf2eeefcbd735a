namespace MoESdk.Cli;

/// <summary>
/// An IProgress that reports on the calling thread at once: <see cref="Progress{T}"/> posts to the thread
/// pool, so reports would arrive out of order and after the work has finished.
/// </summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
