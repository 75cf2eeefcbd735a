using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// Persistent threads that split one <see cref="IRangeJob"/> at a time between them and the calling thread.
/// Built for batch-1 decode, which issues about a hundred jobs of a few tens of microseconds per token:
/// workers spin briefly between jobs and only then block, the caller computes a share itself, and a job
/// allocates nothing. Chunks are claimed dynamically and shrink as the job drains (guided self-scheduling):
/// the first claims are large, so each thread reads long forward runs of weights, and the last are small, so
/// a worker that is descheduled (the machine is shared) or finishes early waits for at most a small chunk, and
/// a worker that has not woken yet is not waited for.
/// </summary>
/// <remarks>
/// Safe to share between model instances and threads: one job runs on the pool at a time, and a job
/// submitted while another is running (or from inside a job) runs on its caller's thread alone.
/// </remarks>
internal sealed unsafe class ComputePool : IDisposable
{
    // A claim takes this share of what is left per participant (1/2: the first claim of two threads is a quarter of
    // the job), and never less than the job split this many ways per participant, so claims stay few (about 20 for
    // two threads) while the last ones are small. Measured on the 1B decode against fixed chunks of 1/8 (steps
    // alternated in one process): float32 1.01-1.05x, bfloat16 1.00-1.03x faster.
    private const int ClaimDivisor = 2;
    private const int SmallestClaimDivisor = 16;

    // How long an idle worker spins before it blocks: longer than the gap between the jobs of one decode
    // step, far shorter than the gap between requests.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5_000; // 200 µs

    // _state packs the job generation (upper bits), a "closed" flag and the number of workers that joined the
    // job (lower 15 bits), so that joining is possible only while the job is open, in one atomic step.
    private const long JoinedMask = (1L << 15) - 1;
    private const long ClosedFlag = 1L << 15;
    private const int GenerationShift = 16;

    private static readonly Lazy<ComputePool> s_shared = new(() => new ComputePool(Environment.ProcessorCount));

    private readonly Thread[] _workers;
    private readonly object _sleepGate = new();
    private long _state;
    private int _sleepers;
    private int _busy;
    private volatile bool _disposed;

    // The published job: written by the submitting thread before it opens a generation, read by workers that
    // joined that generation. The job struct itself lives on the submitter's stack until the job is done.
    private delegate*<void*, int, int, void> _execute;
    private void* _job;
    private int _count;
    private int _grain;
    private int _nextStart;

    /// <summary>Creates a pool in which <paramref name="parallelism"/> threads, the caller included, share each job.</summary>
    /// <param name="parallelism">Threads per job including the caller; 1 runs every job on the caller.</param>
    public ComputePool(int parallelism)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        Parallelism = parallelism;
        _workers = new Thread[parallelism - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop)
            {
                IsBackground = true,
                Name = $"MoESdk compute {i + 1}",
            };
            _workers[i].Start();
        }
    }

    /// <summary>A process-wide pool with one thread per processor, created on first use and never disposed.</summary>
    public static ComputePool Shared => s_shared.Value;

    /// <summary>Threads that share a job, the calling thread included.</summary>
    public int Parallelism { get; }

    /// <summary>
    /// Runs <paramref name="job"/> over [0, <paramref name="count"/>) and returns when every item is done.
    /// Sub-ranges start at multiples of <paramref name="grain"/> (e.g. the rows a kernel computes together).
    /// </summary>
    public void Run<TJob>(TJob job, int count, int grain = 1)
        where TJob : struct, IRangeJob
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(grain, 1);
        if (count == 0)
        {
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_workers.Length == 0 || count <= grain || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            job.Execute(0, count);
            return;
        }
        try
        {
            Dispatch(&ExecuteJob<TJob>, Unsafe.AsPointer(ref job), count, grain);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void ExecuteJob<TJob>(void* job, int start, int end)
        where TJob : struct, IRangeJob
        => Unsafe.AsRef<TJob>(job).Execute(start, end);

    private void Dispatch(delegate*<void*, int, int, void> execute, void* job, int count, int grain)
    {
        _execute = execute;
        _job = job;
        _count = count;
        _grain = grain;
        _nextStart = 0;

        // Opening the next generation publishes the fields above (Interlocked is a full fence).
        long generation = (Volatile.Read(ref _state) >> GenerationShift) + 1;
        Interlocked.Exchange(ref _state, generation << GenerationShift);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepGate)
            {
                Monitor.PulseAll(_sleepGate);
            }
        }

        RunChunks();

        // No worker may join after this, so once the joined ones leave, the job's stack memory is free.
        long state = Interlocked.Or(ref _state, ClosedFlag) | ClosedFlag;
        SpinWait spinner = default;
        while ((state & JoinedMask) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            state = Volatile.Read(ref _state);
        }
    }

    // Claims sub-ranges until the job is drained; each starts where the last claim ended, so at a multiple of the grain.
    private void RunChunks()
    {
        int count = _count;
        int grain = _grain;
        int smallest = Math.Max(grain, count / (Parallelism * SmallestClaimDivisor) / grain * grain);
        int divisor = Parallelism * ClaimDivisor;
        var execute = _execute;
        void* job = _job;
        while (true)
        {
            int start = Volatile.Read(ref _nextStart);
            if (start >= count)
            {
                return;
            }
            int size = Math.Max(smallest, ((count - start) / divisor + grain - 1) / grain * grain);
            int end = Math.Min(count, start + size);
            if (Interlocked.CompareExchange(ref _nextStart, end, start) == start)
            {
                execute(job, start, end);
            }
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            long state = WaitForNewGeneration(seen);
            if (_disposed)
            {
                return;
            }
            seen = state >> GenerationShift;
            if (TryJoin(state))
            {
                RunChunks();
                Interlocked.Decrement(ref _state);
            }
        }
    }

    private bool TryJoin(long state)
    {
        while ((state & ClosedFlag) == 0)
        {
            long observed = Interlocked.CompareExchange(ref _state, state + 1, state);
            if (observed == state)
            {
                return true;
            }
            if ((observed >> GenerationShift) != (state >> GenerationShift))
            {
                // A newer job replaced this one; it is picked up on the next turn of the loop.
                return false;
            }
            state = observed;
        }
        return false;
    }

    private long WaitForNewGeneration(long seen)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        int spins = 0;
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if ((state >> GenerationShift) != seen || _disposed)
            {
                return state;
            }
            if ((++spins & 63) == 0 && Stopwatch.GetTimestamp() > deadline)
            {
                break;
            }
            Thread.SpinWait(8);
        }

        lock (_sleepGate)
        {
            // Announce the sleeper before the last look, so a submitter that opens a job afterwards sees it
            // and pulses (both sides use full fences).
            Interlocked.Increment(ref _sleepers);
            try
            {
                while (true)
                {
                    long state = Volatile.Read(ref _state);
                    if ((state >> GenerationShift) != seen || _disposed)
                    {
                        return state;
                    }
                    Monitor.Wait(_sleepGate);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }

    /// <summary>Stops the worker threads after the running job, if any.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (_sleepGate)
        {
            Monitor.PulseAll(_sleepGate);
        }
        foreach (Thread worker in _workers)
        {
            worker.Join();
        }
    }
}
