using MoESdk.Inference.Decoding;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Inference;

/// <summary>
/// One sequence being generated with a model: its KV cache, the logits of the last step, and the
/// prefill/decode loop. Batch 1. Not thread-safe: one session per concurrent request; the model itself can
/// be shared by sessions on different threads.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly LlamaModel _model;
    private readonly KvCache _cache;
    private readonly float[] _logits;
    private readonly KernelDecoder? _decoder;
    private List<KernelDecoder>? _promptLanes;
    private DecodeBatch? _promptBatch;

    /// <param name="model">The model; sessions on different threads may share it.</param>
    /// <param name="contextLength">Positions the KV cache holds; null: the model's context length.</param>
    /// <param name="precision">
    /// The precision the decode kernels read the weight matrices in (the TorchSharp path and prefill stay in the precision
    /// the model holds). The model makes its bfloat16 or int8 copies at the first session that asks, and shares them with
    /// later ones; a model held in int8 is read in int8 whatever is asked.
    /// </param>
    public InferenceSession(LlamaModel model, int? contextLength = null, DecodePrecision precision = DecodePrecision.Float32)
        : this(model, contextLength, routing: null, DecodeBackend.Kernels, precision)
    {
    }

    /// <summary>A session that routes its own way or decodes on another backend: the engine's own callers (serving, benchmarks).</summary>
    /// <param name="model">The model; sessions on different threads may share it.</param>
    /// <param name="contextLength">Positions the KV cache holds; null: the model's context length.</param>
    /// <param name="routing">How this session's tokens are routed (top-k, policy, observer); null: as the model was built.</param>
    /// <param name="backend">What computes single-token decode steps.</param>
    /// <param name="precision">The precision the decode kernels read the weight matrices in.</param>
    internal InferenceSession(LlamaModel model, int? contextLength, RoutingContext? routing, DecodeBackend backend = DecodeBackend.Kernels,
        DecodePrecision precision = DecodePrecision.Float32)
    {
        _model = model;
        Routing = routing ?? RoutingContext.Default;
        // Checks the routing against the model now, not at the first token.
        foreach (DecoderLayer layer in model.Layers)
        {
            if (layer.FeedForward is MixtureOfExpertsFeedForward block)
            {
                Routing.ForLayer(layer.Index, block);
            }
        }
        _logits = new float[model.Config.VocabSize];
        _decoder = backend == DecodeBackend.Kernels ? KernelDecoder.TryCreate(model, Routing, precision: precision) : null;
        // The kernels keep keys and values in float32 whatever the weights' type; the TorchSharp path in the model's own type.
        _cache = new KvCache(model.Config, contextLength, model.Device, _decoder is null ? model.DType : ScalarType.Float32);
        Precision = _decoder?.Precision ?? DecodePrecision.Float32;
    }

    /// <summary>The precision decode steps read the weights in (float32 when they run on TorchSharp).</summary>
    public DecodePrecision Precision { get; }

    /// <summary>How this session routes its tokens through the Mixture-of-Experts blocks.</summary>
    internal RoutingContext Routing { get; }

    /// <summary>What computes this session's decode steps (Torch when the weights do not allow the kernels).</summary>
    internal DecodeBackend Backend => _decoder is null ? DecodeBackend.Torch : DecodeBackend.Kernels;

    /// <summary>Tokens in the cache: the position of the next token.</summary>
    public int Position => _cache.Length;

    /// <summary>Positions this session can hold.</summary>
    public int ContextLength => _cache.Capacity;

    /// <summary>Why the last <see cref="Generate"/> ended.</summary>
    public FinishReason FinishReason { get; private set; }

    /// <summary>Forgets the sequence; the cache memory is kept for the next one.</summary>
    public void Reset() => _cache.Length = 0;

    /// <summary>Feeds tokens at the current position and returns the logits after the last of them.</summary>
    public ReadOnlySpan<float> Feed(IReadOnlyList<int> tokens)
    {
        if (tokens.Count == 0)
        {
            throw new ArgumentException("At least one token must be fed.", nameof(tokens));
        }
        if (_cache.Length + tokens.Count > _cache.Capacity)
        {
            throw new InvalidOperationException(
                $"{tokens.Count} more tokens do not fit: {_cache.Length} of {_cache.Capacity} context positions are used.");
        }
        foreach (int token in tokens)
        {
            CheckToken(token, nameof(tokens));
        }

        if (tokens.Count == 1 && _decoder is not null)
        {
            _decoder.Step(tokens[0], _cache, _logits);
            _cache.Length++;
            return _logits;
        }
        if (PromptOnKernels)
        {
            int width = Math.Min(PromptStep, tokens.Count);
            if (_promptBatch is null || _promptBatch.Capacity < width)
            {
                _promptBatch = new DecodeBatch(width);
            }
            int[] ids = [.. tokens];
            for (int done = 0; done < ids.Length; done += width)
            {
                var chunk = new ArraySegment<int>(ids, done, Math.Min(width, ids.Length - done));
                FeedShared(_promptBatch, [], [], [this], [chunk], [done + chunk.Count == ids.Length]);
            }
            return _logits;
        }
        using (inference_mode())
        using (NewDisposeScope())
        {
            Tensor ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count], device: _model.Device);
            Tensor logits = _model.Forward(ids, _cache.Length, _cache, lastTokenOnly: true, Routing);
            logits.to_type(ScalarType.Float32).cpu().data<float>().CopyTo(_logits.AsSpan(), 0, 0);
        }
        _cache.Length += tokens.Count;
        return _logits;
    }

    // Tokens of a prompt run in one kernel step: each weight block is read from memory once for them all. Wider steps read
    // the weights fewer times (110M shape, 64-token prompt: 16 a step 600 tokens/s, 32 700–770, 64 850) but each lane
    // keeps its own scratch and the step's expert groups grow with it; 32 is the middle.
    private const int PromptStep = 32;

    // Lanes of the session's routing that read float32 weights where the model has them (a prompt is computed in float32
    // whatever precision decode reads, as on TorchSharp), a held model's bfloat16 or int8 otherwise: the session's own decoder when
    // it reads those, and lanes forked from the first, made as prompts need them.
    private ReadOnlySpan<KernelDecoder> PromptLanes(int count)
    {
        if (_promptLanes is null)
        {
            DecodePrecision prompt = DecodeWeights.Effective(_model, DecodePrecision.Float32);
            _promptLanes = [_decoder!.Precision == prompt ? _decoder : KernelDecoder.TryCreate(_model, Routing, precision: DecodePrecision.Float32)!];
        }
        while (_promptLanes.Count < count)
        {
            _promptLanes.Add(_promptLanes[0].Lane());
        }
        return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_promptLanes)[..count];
    }

    /// <summary>
    /// Feeds the prompt, then samples up to <see cref="GenerationOptions.MaxTokens"/> tokens, each fed back
    /// in, and yields them as they come. Stops at a stop token (not yielded), at max tokens, when the
    /// context is full, or when <paramref name="cancellationToken"/> is cancelled (throws).
    /// </summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        return GenerateWith(prompt, new GenerationCursor(this, options.MaxTokens, options.Sampling, options.StopTokens), cancellationToken);
    }

    /// <summary>The same loop with the sampling and stopping rules of <paramref name="cursor"/> (serving builds its own from a request).</summary>
    internal IEnumerable<int> GenerateWith(IReadOnlyList<int> prompt, GenerationCursor cursor, CancellationToken cancellationToken)
    {
        FinishReason = FinishReason.None;
        cancellationToken.ThrowIfCancellationRequested();
        Feed(prompt);
        while (cursor.TryNext(out int next))
        {
            yield return next;
            cancellationToken.ThrowIfCancellationRequested();
            if (!cursor.HasRoom())
            {
                break;
            }
            Feed([next]);
        }
        FinishReason = cursor.FinishReason;
    }

    /// <summary>The logits after the last token fed.</summary>
    internal ReadOnlySpan<float> Logits => _logits;

    /// <summary>
    /// Feeds <c>tokens[i]</c> to <c>sessions[i]</c> for each i in one decode step (<see cref="KernelDecoder"/>'s batched
    /// step): every weight is read once for all of them, and each session's logits are bit for bit those of its own
    /// <see cref="Feed"/>. The sessions decode one model in one precision on the kernels (<see cref="Backend"/>).
    /// </summary>
    internal static void FeedEach(DecodeBatch batch, IReadOnlyList<InferenceSession> sessions, ReadOnlySpan<int> tokens)
    {
        if (sessions.Count == 1)
        {
            sessions[0].Feed([tokens[0]]);
            return;
        }
        var decoders = new KernelDecoder[sessions.Count];
        var caches = new KvCache[sessions.Count];
        var logits = new float[sessions.Count][];
        for (int i = 0; i < sessions.Count; i++)
        {
            InferenceSession session = sessions[i];
            session.CheckToken(tokens[i], nameof(tokens));
            decoders[i] = session._decoder ?? throw new InvalidOperationException("A batched decode step needs sessions on the kernel backend.");
            caches[i] = session._cache;
            logits[i] = session._logits;
        }
        KernelDecoder.Step(batch, decoders, tokens, caches, logits);
        foreach (InferenceSession session in sessions)
        {
            session._cache.Length++;
        }
    }

    /// <summary>Whether a prompt fed at once runs on the kernels (and so may join a shared step, <see cref="FeedShared"/>).</summary>
    // Yes (measured on the 110M shape, 2 threads: 700–850 tokens/s for dense and 8-expert models, against 340–470 through
    // TorchSharp's float32 GEMM), except for a dense model held in bfloat16, where TorchSharp's bfloat16 GEMM uses the
    // CPU's bfloat16 dot products (1,220 against 700).
    internal bool PromptOnKernels => _decoder is not null
        && (_model.DType == ScalarType.Float32 || _model.Layers.Any(l => l.FeedForward is MixtureOfExpertsFeedForward));

    /// <summary>
    /// One shared kernel step for several sessions of one model: <c>decode[i]</c> is fed <c>tokens[i]</c>, and each
    /// <c>prompted[j]</c> the prompt tokens <c>chunks[j]</c> (their logits written only when <c>chunkEnds[j]</c>: the
    /// prompt's last chunk). Entries that read the same weights run in one batched step (prompt lanes read float32 where
    /// decode reads bf16 or int8: those run in a second). Each session's numbers are bit for bit those of its own
    /// <see cref="Feed"/> calls.
    /// </summary>
    internal static void FeedShared(DecodeBatch batch, IReadOnlyList<InferenceSession> decode, ReadOnlySpan<int> tokens,
        IReadOnlyList<InferenceSession> prompted, IReadOnlyList<ArraySegment<int>> chunks, IReadOnlyList<bool> chunkEnds)
    {
        if (prompted.Count == 0)
        {
            FeedEach(batch, decode, tokens);
            return;
        }
        var entries = new List<(KernelDecoder Decoder, int Token, KvCache Cache, int Position, float[]? Logits)>();
        for (int i = 0; i < decode.Count; i++)
        {
            InferenceSession session = decode[i];
            session.CheckToken(tokens[i], nameof(tokens));
            KernelDecoder decoder = session._decoder ?? throw new InvalidOperationException("A shared step needs sessions on the kernel backend.");
            entries.Add((decoder, tokens[i], session._cache, session._cache.Length, session._logits));
        }
        for (int j = 0; j < prompted.Count; j++)
        {
            InferenceSession session = prompted[j];
            ArraySegment<int> chunk = chunks[j];
            int start = session._cache.Length;
            if (start + chunk.Count > session._cache.Capacity)
            {
                throw new InvalidOperationException($"{chunk.Count} more tokens do not fit: {start} of {session._cache.Capacity} context positions are used.");
            }
            // Reserved before any lane binds the cache: growing it moves its storage.
            session._cache.Reserve(start + chunk.Count);
            ReadOnlySpan<KernelDecoder> lanes = session.PromptLanes(chunk.Count);
            for (int t = 0; t < chunk.Count; t++)
            {
                session.CheckToken(chunk[t], nameof(chunks));
                entries.Add((lanes[t], chunk[t], session._cache, start + t, chunkEnds[j] && t == chunk.Count - 1 ? session._logits : null));
            }
        }
        while (entries.Count > 0)
        {
            KernelDecoder first = entries[0].Decoder;
            var group = entries.Where(e => e.Decoder.SameWeights(first)).ToArray();
            entries.RemoveAll(e => e.Decoder.SameWeights(first));
            for (int done = 0; done < group.Length; done += batch.Capacity)
            {
                var part = group.AsSpan(done, Math.Min(batch.Capacity, group.Length - done)).ToArray();
                KernelDecoder.StepAt(batch, [.. part.Select(e => e.Decoder)], [.. part.Select(e => e.Token)], [.. part.Select(e => e.Cache)],
                    [.. part.Select(e => e.Position)], [.. part.Select(e => e.Logits)]);
            }
        }
        foreach (InferenceSession session in decode)
        {
            session._cache.Length++;
        }
        for (int j = 0; j < prompted.Count; j++)
        {
            prompted[j]._cache.Length += chunks[j].Count;
        }
    }

    private void CheckToken(int token, string parameter)
    {
        if ((uint)token >= (uint)_model.Config.VocabSize)
        {
            throw new ArgumentOutOfRangeException(parameter, $"Token id {token} is outside the vocabulary (0..{_model.Config.VocabSize - 1}).");
        }
    }

    public void Dispose() => _cache.Dispose();
}
