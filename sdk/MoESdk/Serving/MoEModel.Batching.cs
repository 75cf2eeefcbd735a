using System.Threading.Channels;
using MoESdk.Inference;

namespace MoESdk.Serving;

public sealed partial class MoEModel
{
    /// <summary>The most generations one decode step has batched so far (1 without batching).</summary>
    internal int LargestDecodeStep => _scheduler?.LargestStep ?? 1;

    /// <summary>
    /// A generation with continuous batching: the model's <see cref="DecodeScheduler"/> feeds its prompt in the shared
    /// steps (or, where prompts do not run on the kernels, the request's own thread feeds it and picks the first token),
    /// then decodes it together with the other running generations until it ends. The same tokens and finish reason as
    /// <see cref="InferenceSession.Generate"/>; returns the finish reason.
    /// </summary>
    private FinishReason GenerateBatched(InferenceSession session, GenerationRequest request, RoutingRecorder recorder,
        ChannelWriter<TokenStep> output, Action delivered, CancellationToken cancellationToken)
    {
        var cursor = Cursor(session, request);
        cancellationToken.ThrowIfCancellationRequested();
        RoutingRecorder? shown = request.IncludeExperts ? recorder : null;
        if (session.PromptOnKernels && request.Prompt.Count > 0)
        {
            _scheduler!.Run(new BatchedGeneration(session, 0, request.Prompt, cursor, shown, output, delivered, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            return cursor.FinishReason;
        }
        session.Feed(request.Prompt);
        if (!cursor.TryNext(out int first))
        {
            return cursor.FinishReason;
        }
        delivered();
        var step = new TokenStep(first, request.IncludeExperts ? recorder.LastChoices() : []);
        while (!output.TryWrite(step))
        {
            output.WaitToWriteAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (!cursor.HasRoom())
        {
            return cursor.FinishReason;
        }
        _scheduler!.Run(new BatchedGeneration(session, first, null, cursor, shown, output, delivered, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        return cursor.FinishReason;
    }

    /// <summary>
    /// A request's generation in the shared decode steps: joins with its first token picked (<paramref name="first"/>,
    /// its prompt fed on the request's thread) or with its <paramref name="prompt"/>, which the shared steps feed before
    /// it picks its first token as it picks the others; hands them to its reader. A token its reader has no room for is held, and the
    /// sequence sits the steps out until it is taken.
    /// </summary>
    private sealed class BatchedGeneration(InferenceSession session, int first, IReadOnlyList<int>? prompt, GenerationCursor cursor,
        RoutingRecorder? recorder, ChannelWriter<TokenStep> output, Action delivered, CancellationToken cancellationToken)
        : DecodeSequence(session, first, prompt)
    {
        private TokenStep? _held;
        private bool _endsAfterHeld;

        public override SequenceState Ready()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return SequenceState.Ended;
            }
            if (_held is TokenStep held)
            {
                if (!output.TryWrite(held))
                {
                    return SequenceState.Waiting;
                }
                _held = null;
                if (_endsAfterHeld)
                {
                    return SequenceState.Ended;
                }
            }
            return SequenceState.Ready;
        }

        public override bool Advance()
        {
            if (!cursor.TryNext(out int next))
            {
                return false;
            }
            delivered();
            var step = new TokenStep(next, recorder is null ? [] : recorder.LastChoices());
            if (!output.TryWrite(step))
            {
                _held = step;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            if (!cursor.HasRoom())
            {
                // The last token still goes to the reader before the sequence leaves.
                _endsAfterHeld = _held is not null;
                return _endsAfterHeld;
            }
            Next = next;
            return true;
        }
    }
}
