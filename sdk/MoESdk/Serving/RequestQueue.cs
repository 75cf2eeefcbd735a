namespace MoESdk.Serving;

/// <summary>
/// Admits a fixed number of requests at a time and lets a bounded number wait; beyond that, a request is refused
/// at once (<see cref="MoEQueueFullException"/>) rather than queued without limit, so an overloaded server sheds load
/// instead of growing its memory and latency.
/// </summary>
internal sealed class RequestQueue : IDisposable
{
    private readonly string _model;
    private readonly SemaphoreSlim _slots;
    private readonly int _concurrency;
    private readonly int _capacity;
    private int _admitted;

    public RequestQueue(string model, int concurrency, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _model = model;
        _concurrency = concurrency;
        _capacity = capacity;
        _slots = new SemaphoreSlim(concurrency, concurrency);
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _admitted) - _concurrency);

    /// <summary>Waits for a slot; dispose the result to give it back.</summary>
    /// <exception cref="MoEQueueFullException">All slots are busy and the waiting queue is full.</exception>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        int admitted = Interlocked.Increment(ref _admitted);
        if (admitted > _concurrency + _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw new MoEQueueFullException(_model, _concurrency, _capacity);
        }
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }
        return new Slot(this);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(RequestQueue queue) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                queue._slots.Release();
                Interlocked.Decrement(ref queue._admitted);
            }
        }
    }
}
