using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using MoESdk.Chat;
using MoESdk.Evaluation;
using MoESdk.Loading;
using MoESdk.Inference;
using MoESdk.Modules;
using MoESdk.Tokenization;
using TorchSharp;
using RoutingContext = MoESdk.Modules.RoutingContext;
using static TorchSharp.torch;

namespace MoESdk.Serving;

/// <summary>
/// Serves a <see cref="LanguageModel"/> (a .moe artifact or a dense model) as an <see cref="IMoEModel"/>. Every request
/// gets its own <see cref="InferenceSession"/> (KV cache) and runs, whole, on one dedicated thread under inference
/// mode, behind a bounded <see cref="RequestQueue"/>, and routes by its own <see cref="RoutingContext"/> (experts per
/// token, routing policy, routing statistics): the model's modules are shared and never changed.
/// </summary>
public sealed partial class MoEModel : IMoEModel
{
    private readonly LanguageModel _model;
    private readonly bool _ownsModel;
    private readonly ITextTokenizer _tokenizer;
    private readonly bool _hasExperts;
    private readonly RequestQueue _queue;
    private readonly RoutingStatistics _routing;
    private readonly MoEMetrics _metrics;
    private readonly int[] _stopTokens;
    private readonly DecodePrecision _precision;
    private readonly DecodeScheduler? _scheduler;
    private int _disposed;

    /// <param name="model">The model to serve; it must have a tokenizer.</param>
    /// <param name="options">Serving settings; null takes the defaults.</param>
    /// <param name="ownsModel">Whether disposing this disposes <paramref name="model"/>.</param>
    public MoEModel(LanguageModel model, MoEServingOptions? options = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new MoEServingOptions();
        _model = model;
        _ownsModel = ownsModel;
        _tokenizer = model.RequireTokenizer();
        _hasExperts = MoEModelInfo.MixtureOfExpertsBlocks(model.Model).Length > 0;
        // Validates the name; the engine serves on the CPU (TorchDevices says why CUDA is refused).
        TorchDevices.Parse(options.Device);
        string name = options.Name ?? MoEModelInfo.Describe(model).Name;
        if (options.ExpertsPerToken is int k)
        {
            CheckExpertsPerToken(name, k, MoEModelInfo.Describe(model));
        }
        Info = MoEModelInfo.Describe(model, name, options.ExpertsPerToken) with { DecodePrecision = options.Precision };
        ChatTemplate = ChatTemplate.Load(model.Source);
        GenerationDefaults = GenerationDefaults.Load(model.Source);
        _stopTokens = StopTokens(_tokenizer, ChatTemplate, GenerationDefaults, Info.VocabSize);
        _queue = new RequestQueue(name, options.MaxConcurrentRequests, options.QueueCapacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(MoEServingOptions.MaxBatchSize));
        // One generation at a time, or batches of one, decode on the request's own thread as they always did.
        _scheduler = options.MaxConcurrentRequests > 1 && options.MaxBatchSize > 1 ? new DecodeScheduler(options.MaxBatchSize, name) : null;
        _precision = options.Precision;
        _routing = new RoutingStatistics(Info.ExpertsPerLayer);
        _metrics = new MoEMetrics(name, () => _queue.Waiting, _routing.Snapshot, options.MeterFactory);
    }

    /// <summary>
    /// Opens the model at <paramref name="path"/> (see <see cref="LanguageModel.Open"/>) and serves it, holding the weights
    /// in <see cref="MoEServingOptions.Precision"/> from the file on (<see cref="LoadOptions.Precision"/>): bfloat16 takes
    /// half the memory of float32, int8 about a quarter, and prefill reads the same weights as decode.
    /// </summary>
    public static MoEModel Open(string path, MoEServingOptions? options = null)
    {
        var load = new LoadOptions { Precision = options?.Precision ?? DecodePrecision.Float32, MapWeights = options?.MapWeights ?? false };
        LanguageModel model = LanguageModel.Open(path, load);
        try
        {
            return new MoEModel(model, options, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public MoEModelInfo Info { get; }

    public ChatTemplate? ChatTemplate { get; }

    public GenerationDefaults GenerationDefaults { get; }

    public int QueueLength => _queue.Waiting;

    public RoutingSnapshot GetRoutingStatistics() => _routing.Snapshot();

    public MoEGenerationStream GenerateStreamingAsync(string prompt, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Stream(Prepare(prompt, options ?? new MoEGenerationOptions(), GenAIOperation.TextCompletion), cancellationToken);

    public MoEGenerationStream GenerateStreamingAsync(IEnumerable<ChatMessage> messages, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MoEGenerationOptions();
        return Stream(Prepare(FormatChatPrompt(messages, options.Chat).Ids, options, GenAIOperation.Chat), cancellationToken);
    }

    private MoEGenerationStream Stream(GenerationRequest request, CancellationToken cancellationToken) =>
        new((stream, enumeratorToken) => StreamAsync(stream, request, cancellationToken, enumeratorToken));

    public Task<MoEGenerationResult> GenerateAsync(string prompt, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateAsync(Prepare(prompt, options ?? new MoEGenerationOptions(), GenAIOperation.TextCompletion), cancellationToken);

    public Task<MoEGenerationResult> GenerateAsync(IEnumerable<ChatMessage> messages, MoEGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MoEGenerationOptions();
        return GenerateAsync(Prepare(FormatChatPrompt(messages, options.Chat).Ids, options, GenAIOperation.Chat), cancellationToken);
    }

    public ChatPrompt FormatChatPrompt(IEnumerable<ChatMessage> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (ChatTemplate is null)
        {
            string text = PlainTextPrompt.Format(messages);
            return new ChatPrompt(text, _model.EncodePrompt(text));
        }
        return ChatPrompt.Create(ChatTemplate, _tokenizer, ChatMessageValues.FromMessages(messages), options);
    }

    private async Task<MoEGenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        var run = new GenerationRun();
        var tokens = new List<GeneratedToken>();
        await foreach (GeneratedToken token in Generated(request, run, cancellationToken).ConfigureAwait(false))
        {
            tokens.Add(token);
        }
        // Decoded whole, not joined from the streamed pieces: the same text by a second path (a cut text is the pieces').
        string text = request.StopSequences.Count > 0 ? string.Concat(tokens.Select(t => t.Text)) : DecodeContinuation(request.Prompt, tokens.Select(t => t.Id).ToArray());
        return new MoEGenerationResult(text, tokens, request.Prompt.Count, run.FinishReason, request.ExpertsPerToken);
    }

    public async Task<PerplexityResult> ScoreAsync(string text, int? expertsPerToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        int k = ResolveExpertsPerToken(expertsPerToken);
        IReadOnlyList<int> tokens = _tokenizer.Encode(text, addBos: false);
        if (tokens.Count < 2)
        {
            throw new ArgumentException($"The text has {tokens.Count} token(s); scoring needs at least 2 (the first is only context).", nameof(text));
        }
        using Activity? activity = MoEMetrics.ActivitySource.StartActivity("moe.score");
        activity?.SetTag("moe.model", Info.Name);
        using IDisposable slot = await _queue.EnterAsync(cancellationToken).ConfigureAwait(false);
        PerplexityResult result = await RunOnOwnThread(() => Score(tokens, k, cancellationToken)).ConfigureAwait(false);
        activity?.SetTag("moe.tokens", result.Tokens);
        return result;
    }

    public async Task WarmUpAsync(CancellationToken cancellationToken = default)
    {
        GenerationRequest request = Prepare("\n", new MoEGenerationOptions { MaxTokens = 1, IncludeExperts = false }, GenAIOperation.TextCompletion);
        await foreach (TokenStep _ in RunAsync(request, new GenerationRun(), cancellationToken).ConfigureAwait(false))
        {
        }
    }

    private async IAsyncEnumerable<GeneratedToken> StreamAsync(MoEGenerationStream stream, GenerationRequest request,
        CancellationToken requestToken, [EnumeratorCancellation] CancellationToken enumeratorToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestToken, enumeratorToken);
        stream.PromptTokens = request.Prompt.Count;
        stream.ExpertsPerToken = request.ExpertsPerToken;
        var run = new GenerationRun();
        await foreach (GeneratedToken token in Generated(request, run, linked.Token).ConfigureAwait(false))
        {
            yield return token;
        }
        stream.FinishReason = run.FinishReason;
    }

    /// <summary>The request's tokens with their texts, cut at its first stop sequence.</summary>
    private IAsyncEnumerable<GeneratedToken> Generated(GenerationRequest request, GenerationRun run, CancellationToken cancellationToken)
    {
        IAsyncEnumerable<GeneratedToken> tokens = Detokenize(request.Prompt, RunAsync(request, run, cancellationToken));
        return request.StopSequences.Count == 0 ? tokens : CutAtStop(tokens, new StopSequenceFilter(request.StopSequences), run);
    }

    /// <summary>
    /// Gives each token the text the filter lets out. A token is handed on only when the next one has come, so text
    /// held back at the end can still go to the last token; at a stop sequence the generation ends there (leaving the
    /// loop stops the generation thread).
    /// </summary>
    private static async IAsyncEnumerable<GeneratedToken> CutAtStop(IAsyncEnumerable<GeneratedToken> tokens, StopSequenceFilter filter, GenerationRun run)
    {
        GeneratedToken? previous = null;
        await foreach (GeneratedToken token in tokens.ConfigureAwait(false))
        {
            if (previous is not null)
            {
                yield return previous;
            }
            previous = token with { Text = filter.Append(token.Text) };
            if (filter.Stopped)
            {
                break;
            }
        }
        if (previous is not null)
        {
            yield return filter.Stopped ? previous : previous with { Text = previous.Text + filter.Flush() };
        }
        if (filter.Stopped)
        {
            run.FinishReason = FinishReason.Stop;
        }
    }

    /// <summary>
    /// Texts per token: a token that ends inside a character is held back (empty text) until the token that completes
    /// it; what is still held at the end goes to the last token.
    /// </summary>
    private async IAsyncEnumerable<GeneratedToken> Detokenize(IReadOnlyList<int> prompt, IAsyncEnumerable<TokenStep> steps)
    {
        var decoder = new StreamingDecoder(_tokenizer, prompt);
        var held = new List<TokenStep>();
        await foreach (TokenStep step in steps.ConfigureAwait(false))
        {
            string text = decoder.Append(step.Id);
            if (text.Length == 0)
            {
                held.Add(step);
                continue;
            }
            foreach (TokenStep h in held)
            {
                yield return new GeneratedToken(h.Id, "", h.Experts);
            }
            held.Clear();
            yield return new GeneratedToken(step.Id, text, step.Experts);
        }
        string rest = decoder.Flush();
        for (int i = 0; i < held.Count; i++)
        {
            yield return new GeneratedToken(held[i].Id, i == held.Count - 1 ? rest : "", held[i].Experts);
        }
    }

    /// <summary>The generated ids as text, decoded with the prompt before them so the first token's spacing is right.</summary>
    private string DecodeContinuation(IReadOnlyList<int> prompt, int[] generated)
    {
        string before = _tokenizer.Decode(prompt);
        string all = _tokenizer.Decode(prompt.Concat(generated));
        return all.StartsWith(before, StringComparison.Ordinal) ? all[before.Length..] : _tokenizer.Decode(generated);
    }

    /// <summary>
    /// Runs the request on its own thread once a slot is free and hands its tokens over as they come. Stopping the
    /// enumeration cancels the generation; the slot is given back only when the thread is done with the model.
    /// </summary>
    private async IAsyncEnumerable<TokenStep> RunAsync(GenerationRequest request, GenerationRun run, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using Activity? activity = MoEMetrics.ActivitySource.StartActivity("moe.generate");
        // OpenTelemetry GenAI conventions: the span shows as "{operation} {model}" with the gen_ai.* attributes; the
        // moe.* tags add what only a Mixture-of-Experts model has.
        if (activity is not null)
        {
            activity.DisplayName = $"{request.Operation} {Info.Name}";
            activity.SetTag("gen_ai.operation.name", request.Operation);
            activity.SetTag("gen_ai.provider.name", MoEMetrics.ProviderName);
            activity.SetTag("gen_ai.request.model", Info.Name);
            activity.SetTag("gen_ai.request.max_tokens", request.Options.MaxTokens);
            activity.SetTag("gen_ai.usage.input_tokens", request.Prompt.Count);
        }
        activity?.SetTag("moe.model", Info.Name);
        activity?.SetTag("moe.prompt_tokens", request.Prompt.Count);
        activity?.SetTag("moe.experts_per_token", request.ExpertsPerToken);
        var clock = Stopwatch.StartNew();
        IDisposable slot = await _queue.EnterAsync(cancellationToken).ConfigureAwait(false);
        // Bounded: a reader that stops reading pauses its generation (and keeps its slot) instead of letting the
        // thread buffer a whole answer nobody is taking.
        var channel = Channel.CreateBounded<TokenStep>(new BoundedChannelOptions(TokensAhead) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task producer = RunOnOwnThread(() =>
        {
            try
            {
                Generate(request, run, channel.Writer, clock, stop.Token);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
            finally
            {
                slot.Dispose();
            }
            return 0;
        });
        int produced = 0;
        try
        {
            await foreach (TokenStep step in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // Tokens already produced are not handed out after cancellation.
                cancellationToken.ThrowIfCancellationRequested();
                produced++;
                yield return step;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
            activity?.SetTag("moe.generated_tokens", produced);
            activity?.SetTag("moe.finish_reason", run.FinishReason.ToString());
            activity?.SetTag("gen_ai.usage.output_tokens", produced);
            activity?.SetTag("gen_ai.response.finish_reasons", new[] { MoEMetrics.FinishReasonName(run.FinishReason) });
            _metrics.RequestDuration(request.Operation, clock.Elapsed);
        }
    }

    /// <summary>Tokens a generation may run ahead of its reader.</summary>
    private const int TokensAhead = 64;

    /// <summary>The generation loop; runs on the request's own thread.</summary>
    private void Generate(GenerationRequest request, GenerationRun run, ChannelWriter<TokenStep> output, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var inference = inference_mode();
        var recorder = new RoutingRecorder(Info.ExpertsPerLayer);
        int capacity = Math.Min(_model.Model.Config.MaxPositions, request.Prompt.Count + Math.Max(1, request.Options.MaxTokens));
        int count = 0;
        TimeSpan firstToken = TimeSpan.Zero;
        try
        {
            using var session = new InferenceSession(_model.Model, capacity, routing: Routing(request.ExpertsPerToken, request.Options.RoutingPolicy, recorder),
                precision: _precision);
            void Delivered()
            {
                if (count++ == 0)
                {
                    firstToken = clock.Elapsed;
                    _metrics.FirstToken(request.Operation, firstToken);
                }
            }
            if (_scheduler is not null && session.Backend == DecodeBackend.Kernels)
            {
                run.FinishReason = GenerateBatched(session, request, recorder, output, Delivered, cancellationToken);
                return;
            }
            foreach (int id in session.GenerateWith(request.Prompt, Cursor(session, request), cancellationToken))
            {
                Delivered();
                var step = new TokenStep(id, request.IncludeExperts ? recorder.LastChoices() : []);
                // The generation runs on its own thread, so waiting here for the reader blocks no pool thread.
                while (!output.TryWrite(step))
                {
                    output.WaitToWriteAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
                }
            }
            run.FinishReason = session.FinishReason;
        }
        finally
        {
            _routing.Add(recorder.Counts, recorder.Tokens);
            _metrics.ExpertSelections(recorder.Counts);
            _metrics.TokensGenerated(count);
            _metrics.TimePerOutputToken(request.Operation, count - 1, clock.Elapsed - firstToken);
        }
    }

    /// <summary>
    /// Mean negative log-likelihood of every token after the first, in windows of at most the context length that
    /// overlap by one token (each window's first token is the previous window's last target).
    /// </summary>
    private PerplexityResult Score(IReadOnlyList<int> tokens, int expertsPerToken, CancellationToken cancellationToken)
    {
        using var inference = inference_mode();
        var recorder = new RoutingRecorder(Info.ExpertsPerLayer);
        RoutingContext routing = Routing(expertsPerToken, null, recorder);
        int length = Math.Min(_model.Model.Config.MaxPositions, tokens.Count - 1);
        double nll = 0;
        int windows = 0;
        try
        {
            for (int start = 0; start < tokens.Count - 1; start += length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(length, tokens.Count - 1 - start);
                using var scope = NewDisposeScope();
                Tensor inputs = tensor(tokens.Skip(start).Take(n).Select(t => (long)t).ToArray(), [1, n], device: _model.Model.Device);
                Tensor targets = tensor(tokens.Skip(start + 1).Take(n).Select(t => (long)t).ToArray(), [1, n], device: _model.Model.Device);
                // In float32 whatever the model computes in: a bfloat16 log-softmax over the vocabulary would round the score.
                Tensor logProbabilities = _model.Model.Forward(inputs, 0, null, lastTokenOnly: false, routing).to_type(ScalarType.Float32).log_softmax(-1);
                nll -= logProbabilities.gather(-1, targets.unsqueeze(-1)).sum().item<float>();
                windows++;
            }
        }
        finally
        {
            _routing.Add(recorder.Counts, recorder.Tokens);
            _metrics.ExpertSelections(recorder.Counts);
        }
        return new PerplexityResult(nll / (tokens.Count - 1), tokens.Count - 1, windows, length);
    }

    private GenerationRequest Prepare(string prompt, MoEGenerationOptions options, string operation)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return Prepare(_model.EncodePrompt(prompt), options, operation);
    }

    private GenerationRequest Prepare(IReadOnlyList<int> ids, MoEGenerationOptions options, string operation)
    {
        if (options.MaxTokens < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MoEGenerationOptions.MaxTokens), $"Max tokens must be 0 or more, was {options.MaxTokens}.");
        }
        options.Sampling.Validate();
        int k = ResolveExpertsPerToken(options.ExpertsPerToken);
        CheckRoutingPolicy(options.RoutingPolicy, k);
        if (ids.Count == 0)
        {
            throw new ArgumentException("The prompt is empty: give at least one token of text.", "prompt");
        }
        if (ids.Count >= Info.ContextLength)
        {
            throw new PromptTooLongException(Info.Name, ids.Count, Info.ContextLength);
        }
        if (options.StopSequences.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("A stop sequence is empty: give stop sequences of at least one character.", nameof(MoEGenerationOptions.StopSequences));
        }
        return new GenerationRequest(ids, options, k, options.IncludeExperts && _hasExperts, operation);
    }

    /// <summary>
    /// Ids that end a generation: the tokenizer's end ids, the chat template's end-of-turn tokens (<c>&lt;|eot_id|&gt;</c>,
    /// <c>&lt;|im_end|&gt;</c>, <c>&lt;end_of_turn&gt;</c>…) and generation_config.json's <c>eos_token_id</c>s.
    /// </summary>
    private static int[] StopTokens(ITextTokenizer tokenizer, ChatTemplate? template, GenerationDefaults defaults, int vocabSize)
    {
        IEnumerable<int> turnEnds = template?.EndOfTurnTokens.Select(tokenizer.TokenToId).OfType<int>() ?? [];
        return tokenizer.EosIds.Concat(turnEnds).Concat(defaults.EosTokenIds).Where(id => id >= 0 && id < vocabSize).Distinct().ToArray();
    }

    /// <summary>The request's experts per token: its own, validated, or the model's default.</summary>
    private int ResolveExpertsPerToken(int? requested)
    {
        if (requested is not int k)
        {
            return Info.DefaultExpertsPerToken;
        }
        CheckExpertsPerToken(Info.Name, k, Info);
        return k;
    }

    private static void CheckExpertsPerToken(string name, int k, MoEModelInfo info)
    {
        if (!info.IsMixtureOfExperts)
        {
            throw new ArgumentException(
                $"Model '{name}' is dense: it has no experts, so experts per token cannot be set. Serve a Mixture-of-Experts artifact (made with `moe convert`) to choose a compute budget.",
                nameof(MoEGenerationOptions.ExpertsPerToken));
        }
        if (k < 1 || k > info.MaxExpertsPerToken)
        {
            throw new ArgumentOutOfRangeException(nameof(MoEGenerationOptions.ExpertsPerToken), k,
                $"Experts per token must be in 1..{info.MaxExpertsPerToken} (the routed experts of each layer of '{name}'), was {k}.");
        }
    }

    /// <summary>Checks a request's routing policy against this model and its serving mode before it is queued.</summary>
    private void CheckRoutingPolicy(ExpertRoutingPolicy? policy, int expertsPerToken)
    {
        if (policy is null)
        {
            return;
        }
        if (!Info.IsMixtureOfExperts)
        {
            throw new ArgumentException(
                $"Model '{Info.Name}' is dense: it has no experts to disable or pin. Serve a Mixture-of-Experts artifact (made with `moe convert`) to use a routing policy.",
                nameof(MoEGenerationOptions.RoutingPolicy));
        }
        try
        {
            policy.Validate(Info.ExpertsPerLayer, expertsPerToken);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The routing policy does not fit model '{Info.Name}': {e.Message}", nameof(MoEGenerationOptions.RoutingPolicy), e);
        }
    }

    /// <summary>A request's routing: its experts per token and policy, its choices counted by its own recorder.</summary>
    private RoutingContext Routing(int expertsPerToken, ExpertRoutingPolicy? policy, RoutingRecorder recorder) => _hasExperts
        ? new RoutingContext { ExpertsPerToken = expertsPerToken, Policy = policy, Observer = recorder.Record }
        : RoutingContext.Default;

    /// <summary>Torch work runs on a dedicated thread: it is long, blocking and uses thread-local inference mode.</summary>
    private static Task<T> RunOnOwnThread<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public void Dispose()
    {
        // Dependency injection may hold this model under several registrations and dispose each.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _metrics.Dispose();
        _scheduler?.Dispose();
        _queue.Dispose();
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }

    // Operation: the GenAI operation name telemetry reports (chat or text_completion).
    // A request as the engine runs it: the caller's options, with the experts per token resolved against the model.
    private sealed record GenerationRequest(IReadOnlyList<int> Prompt, MoEGenerationOptions Options, int ExpertsPerToken, bool IncludeExperts, string Operation)
    {
        public IReadOnlyList<string> StopSequences => Options.StopSequences;
    }

    /// <summary>The sampling and stopping rules of <paramref name="request"/> on <paramref name="session"/>: its options, and the model's stop tokens.</summary>
    private GenerationCursor Cursor(InferenceSession session, GenerationRequest request) =>
        new(session, request.Options.MaxTokens, request.Options.Sampling, _stopTokens);

    /// <summary>The OpenTelemetry GenAI operation names of this model's requests.</summary>
    private static class GenAIOperation
    {
        public const string Chat = "chat";
        public const string TextCompletion = "text_completion";
    }

    private readonly record struct TokenStep(int Id, IReadOnlyList<IReadOnlyList<int>> Experts);

    /// <summary>What the generation thread reports back when it ends.</summary>
    private sealed class GenerationRun
    {
        public FinishReason FinishReason { get; set; }
    }
}
