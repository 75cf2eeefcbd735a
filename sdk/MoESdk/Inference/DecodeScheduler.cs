using System.Runtime.ExceptionServices;
using MoESdk.Inference.Decoding;
using static TorchSharp.torch;

namespace MoESdk.Inference;

/// <summary>
/// Continuous batching for one model: generations that run at once decode together. One loop thread runs decode steps;
/// each step takes the sequences that are ready (up to <see cref="MaxBatch"/>), feeds each its token in one batched step
/// (<see cref="InferenceSession.FeedEach"/>: every weight read once for all), then lets each pick and hand on its next
/// token. A sequence joins at the next step after its prefill and leaves when it ends (finished, cancelled, failed);
/// sequences beyond the batch wait for a place. Each keeps its own KV cache, sampling, routing and cancellation, so
/// its tokens are those it gets decoded alone.
/// </summary>
internal sealed class DecodeScheduler : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<DecodeSequence> _waiting = new();
    private readonly string _name;
    private Thread? _loop;
    private bool _disposed;
    private int _largestStep;

    /// <param name="maxBatch">Most sequences decoded in one step.</param>
    /// <param name="name">Names the loop thread.</param>
    public DecodeScheduler(int maxBatch, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        MaxBatch = maxBatch;
        _name = name;
    }

    public int MaxBatch { get; }

    /// <summary>The most sequences one step has decoded so far.</summary>
    public int LargestStep => Volatile.Read(ref _largestStep);

    /// <summary>
    /// Decodes <paramref name="sequence"/> (prefilled, its first token picked) in the shared steps until it ends, and
    /// returns then; rethrows what failed it.
    /// </summary>
    public void Run(DecodeSequence sequence)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _waiting.Enqueue(sequence);
            if (_loop is null)
            {
                _loop = new Thread(Loop) { IsBackground = true, Name = $"MoESdk decode {_name}" };
                _loop.Start();
            }
            Monitor.Pulse(_gate);
        }
        sequence.Done.Wait();
        sequence.Done.Dispose();
        sequence.Failure?.Throw();
    }

    private void Loop()
    {
        using var inference = inference_mode();
        var batch = new DecodeBatch(MaxBatch);
        var active = new List<DecodeSequence>(MaxBatch);
        var stepping = new List<DecodeSequence>(MaxBatch);
        var sessions = new List<InferenceSession>(MaxBatch);
        int[] tokens = new int[MaxBatch];
        while (true)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    foreach (DecodeSequence sequence in active.Concat(_waiting))
                    {
                        sequence.End(new ObjectDisposedException(nameof(DecodeScheduler), "The model was disposed while generating."));
                    }
                    return;
                }
                while (active.Count < MaxBatch && _waiting.Count > 0)
                {
                    active.Add(_waiting.Dequeue());
                }
                if (active.Count == 0)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
            }

            stepping.Clear();
            sessions.Clear();
            for (int i = active.Count - 1; i >= 0; i--)
            {
                DecodeSequence sequence = active[i];
                switch (Readiness(sequence))
                {
                    case SequenceState.Ready:
                        stepping.Add(sequence);
                        break;
                    case SequenceState.Ended:
                        active.RemoveAt(i);
                        break;
                }
            }
            if (stepping.Count == 0)
            {
                // Every sequence waits for its reader: look again shortly (or when a new one arrives).
                lock (_gate)
                {
                    Monitor.Wait(_gate, 1);
                }
                continue;
            }
            // In the order they joined (collected backwards above): the order of a step does not change its results.
            stepping.Reverse();
            Volatile.Write(ref _largestStep, Math.Max(_largestStep, stepping.Count));
            for (int i = 0; i < stepping.Count; i++)
            {
                sessions.Add(stepping[i].Session);
                tokens[i] = stepping[i].Next;
            }
            try
            {
                InferenceSession.FeedEach(batch, sessions, tokens.AsSpan(0, stepping.Count));
            }
            catch (Exception e)
            {
                foreach (DecodeSequence sequence in stepping)
                {
                    sequence.End(e);
                    active.Remove(sequence);
                }
                continue;
            }
            foreach (DecodeSequence sequence in stepping)
            {
                bool goesOn;
                try
                {
                    goesOn = sequence.Advance();
                }
                catch (Exception e)
                {
                    sequence.End(e);
                    active.Remove(sequence);
                    continue;
                }
                if (!goesOn)
                {
                    sequence.End(null);
                    active.Remove(sequence);
                }
            }
        }
    }

    private static SequenceState Readiness(DecodeSequence sequence)
    {
        try
        {
            SequenceState state = sequence.Ready();
            if (state == SequenceState.Ended)
            {
                sequence.End(null);
            }
            return state;
        }
        catch (Exception e)
        {
            sequence.End(e);
            return SequenceState.Ended;
        }
    }

    /// <summary>Stops the loop after its current step; sequences still running fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Thread? loop;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            loop = _loop;
            Monitor.PulseAll(_gate);
        }
        loop?.Join();
    }
}

/// <summary>Whether a sequence takes part in the next decode step.</summary>
internal enum SequenceState
{
    /// <summary>It is fed <see cref="DecodeSequence.Next"/> at the next step.</summary>
    Ready,

    /// <summary>It sits this step out (its reader is behind).</summary>
    Waiting,

    /// <summary>It leaves the batch (cancelled).</summary>
    Ended,
}

/// <summary>One generation as <see cref="DecodeScheduler"/> decodes it: its session (KV cache, routing) and the token to feed next.</summary>
internal abstract class DecodeSequence
{
    protected DecodeSequence(InferenceSession session, int next)
    {
        Session = session;
        Next = next;
    }

    public InferenceSession Session { get; }

    /// <summary>The token fed at this sequence's next step.</summary>
    public int Next { get; protected set; }

    /// <summary>Set when the sequence has left the loop for good.</summary>
    internal ManualResetEventSlim Done { get; } = new();

    internal ExceptionDispatchInfo? Failure { get; private set; }

    /// <summary>Whether it takes part in the next step; may hand on a token held back for a slow reader.</summary>
    public abstract SequenceState Ready();

    /// <summary>After a step fed <see cref="Next"/>: picks the next token from the logits and hands it on; false when the generation has ended.</summary>
    public abstract bool Advance();

    internal void End(Exception? failure)
    {
        if (failure is not null)
        {
            Failure = ExceptionDispatchInfo.Capture(failure);
        }
        Done.Set();
    }
}
