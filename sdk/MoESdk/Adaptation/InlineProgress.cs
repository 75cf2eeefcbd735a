namespace MoESdk.Adaptation;

/// <summary>Reports on the calling thread at once (<see cref="Progress{T}"/> would post to the thread pool, out of order).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
