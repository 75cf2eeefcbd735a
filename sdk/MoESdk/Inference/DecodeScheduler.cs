using System.Runtime.ExceptionServices;
using MoESdk.Inference.Decoding;
using static TorchSharp.torch;

namespace MoESdk.Inference;

/// <summary>
/// Continuous batching for one model: generations that run at once decode together. One loop thread runs decode steps;
/// each step takes the sequences that are ready (up to <see cref="MaxBatch"/>), feeds each its token in one batched step
/// (<see cref="InferenceSession.FeedEach"/>: every weight read once for all), then lets each pick and hand on its next
/// token. A sequence whose prompt runs on the kernels joins with its prompt, which shares the steps too (up to
/// <see cref="PromptTokensPerStep"/> prompt tokens a step, so that prompts arriving together are read against the weights
/// once, not once each); another joins after its prefill. A sequence leaves when it ends (finished, cancelled, failed);
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

    /// <summary>Most prompt tokens one step takes, over all the sequences still feeding their prompts.</summary>
    public const int PromptTokensPerStep = 32;

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
        var batch = new DecodeBatch(MaxBatch + PromptTokensPerStep);
        var active = new List<DecodeSequence>(MaxBatch);
        var stepping = new List<DecodeSequence>(MaxBatch);
        var sessions = new List<InferenceSession>(MaxBatch);
        var prompting = new List<DecodeSequence>(MaxBatch);
        var promptSessions = new List<InferenceSession>(MaxBatch);
        var chunks = new List<ArraySegment<int>>(MaxBatch);
        var chunkEnds = new List<bool>(MaxBatch);
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
            prompting.Clear();
            promptSessions.Clear();
            chunks.Clear();
            chunkEnds.Clear();
            for (int i = active.Count - 1; i >= 0; i--)
            {
                DecodeSequence sequence = active[i];
                switch (Readiness(sequence))
                {
                    case SequenceState.Ready when sequence.Prompting:
                        prompting.Add(sequence);
                        break;
                    case SequenceState.Ready:
                        stepping.Add(sequence);
                        break;
                    case SequenceState.Ended:
                        active.RemoveAt(i);
                        break;
                }
            }
            // Prompts in the order they joined, each its next chunk while the step's prompt budget lasts.
            prompting.Reverse();
            int budget = PromptTokensPerStep;
            for (int i = 0; i < prompting.Count && budget > 0; i++)
            {
                ArraySegment<int> chunk = prompting[i].NextChunk(budget);
                budget -= chunk.Count;
                promptSessions.Add(prompting[i].Session);
                chunks.Add(chunk);
                chunkEnds.Add(prompting[i].EndsWith(chunk));
            }
            prompting.RemoveRange(promptSessions.Count, prompting.Count - promptSessions.Count);
            if (stepping.Count == 0 && prompting.Count == 0)
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
                InferenceSession.FeedShared(batch, sessions, tokens.AsSpan(0, stepping.Count), promptSessions, chunks, chunkEnds);
            }
            catch (Exception e)
            {
                foreach (DecodeSequence sequence in stepping.Concat(prompting))
                {
                    sequence.End(e);
                    active.Remove(sequence);
                }
                continue;
            }
            // A sequence whose prompt this step finished picks its first token as the others pick their next.
            for (int i = 0; i < prompting.Count; i++)
            {
                if (prompting[i].Fed(chunks[i]))
                {
                    stepping.Add(prompting[i]);
                }
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
    /// <param name="session">Its session.</param>
    /// <param name="next">The token its first step feeds; unused when it joins with a prompt.</param>
    /// <param name="prompt">A prompt still to feed (the session feeds prompts on the kernels); its steps feed that first.</param>
    protected DecodeSequence(InferenceSession session, int next, IReadOnlyList<int>? prompt = null)
    {
        Session = session;
        Next = next;
        _prompt = prompt is { Count: > 0 } ? [.. prompt] : null;
    }

    private int[]? _prompt;
    private int _prompted;

    /// <summary>Whether its prompt is still being fed (its next steps take prompt tokens, not <see cref="Next"/>).</summary>
    internal bool Prompting => _prompt is not null;

    /// <summary>The prompt tokens its next step takes: up to <paramref name="budget"/> from where the last chunk ended.</summary>
    internal ArraySegment<int> NextChunk(int budget) => new(_prompt!, _prompted, Math.Min(budget, _prompt!.Length - _prompted));

    /// <summary>Whether <paramref name="chunk"/> ends the prompt.</summary>
    internal bool EndsWith(ArraySegment<int> chunk) => chunk.Offset + chunk.Count == _prompt!.Length;

    /// <summary>After a step fed <paramref name="chunk"/>: true when that finished the prompt.</summary>
    internal bool Fed(ArraySegment<int> chunk)
    {
        _prompted += chunk.Count;
        if (_prompted < _prompt!.Length)
        {
            return false;
        }
        _prompt = null;
        return true;
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
