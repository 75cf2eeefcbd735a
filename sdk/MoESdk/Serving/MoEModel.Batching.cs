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
            _scheduler!.Run(new BatchedGeneration(session, request.Prompt, cursor, shown, output, delivered, cancellationToken));
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
        _scheduler!.Run(new BatchedGeneration(session, first, cursor, shown, output, delivered, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        return cursor.FinishReason;
    }

    /// <summary>
    /// A request's generation in the shared decode steps: picks its tokens with its own sampler (the first one too, when
    /// it joined with its prompt) and hands them to its reader. A token its reader has no room for is held, and the
    /// sequence sits the steps out until it is taken.
    /// </summary>
    private sealed class BatchedGeneration : DecodeSequence
    {
        private readonly GenerationCursor _cursor;
        private readonly RoutingRecorder? _recorder;
        private readonly ChannelWriter<TokenStep> _output;
        private readonly Action _delivered;
        private readonly CancellationToken _cancellationToken;
        private TokenStep? _held;
        private bool _endsAfterHeld;

        /// <summary>Joins with its first token picked (its prompt fed on the request's thread).</summary>
        public BatchedGeneration(InferenceSession session, int first, GenerationCursor cursor, RoutingRecorder? recorder,
            ChannelWriter<TokenStep> output, Action delivered, CancellationToken cancellationToken) : base(session, first)
        {
            (_cursor, _recorder, _output, _delivered, _cancellationToken) = (cursor, recorder, output, delivered, cancellationToken);
        }

        /// <summary>Joins with its prompt, which the shared steps feed.</summary>
        public BatchedGeneration(InferenceSession session, IReadOnlyList<int> prompt, GenerationCursor cursor, RoutingRecorder? recorder,
            ChannelWriter<TokenStep> output, Action delivered, CancellationToken cancellationToken) : base(session, prompt)
        {
            (_cursor, _recorder, _output, _delivered, _cancellationToken) = (cursor, recorder, output, delivered, cancellationToken);
        }

        public override SequenceState Ready()
        {
            if (_cancellationToken.IsCancellationRequested)
            {
                return SequenceState.Ended;
            }
            if (_held is TokenStep held)
            {
                if (!_output.TryWrite(held))
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
            if (!_cursor.TryNext(out int next))
            {
                return false;
            }
            _delivered();
            var step = new TokenStep(next, _recorder is null ? [] : _recorder.LastChoices());
            if (!_output.TryWrite(step))
            {
                _held = step;
            }
            if (_cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            if (!_cursor.HasRoom())
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
