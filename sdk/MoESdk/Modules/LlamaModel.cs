using MoESdk.Loading;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// A LLaMA-family decoder (LLaMA, Mistral, Qwen2, llama2.c): token embedding, decoder layers, final norm and
/// output head (shared with the embedding when tied). Dense and Mixture-of-Experts models are both this
/// class; only each layer's <see cref="FeedForward"/> differs.
/// </summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _embedding;
    private readonly Parameter? _head;

    /// <param name="config">Shape of the model.</param>
    /// <param name="weights">Checkpoint tensors in the Hugging Face layout; the model keeps them.</param>
    /// <param name="feedForward">Builds layer i's feed-forward block; null builds it from the weights: the dense SwiGLU block, or
    /// the Mixture-of-Experts block that <see cref="ModelConfig.Mixture"/> describes.</param>
    internal LlamaModel(ModelConfig config, ModelWeights weights, Func<int, FeedForward>? feedForward = null) : base(nameof(LlamaModel))
    {
        config.Validate(weights.Source);
        Config = config;
        Rotary = new RotaryEmbedding(config);
        _embedding = OwnedParameter.From(weights.Get(WeightNames.Embedding, config.VocabSize, config.HiddenSize));
        register_parameter("embed_tokens", _embedding);
        feedForward ??= config.Mixture is { } mixture ? layer => MixtureOfExpertsFeedForward.FromWeights(weights, config, mixture, layer) : layer => new DenseFeedForward(
            weights.Get(WeightNames.Gate(layer), config.IntermediateSize, config.HiddenSize),
            weights.Get(WeightNames.Up(layer), config.IntermediateSize, config.HiddenSize),
            weights.Get(WeightNames.Down(layer), config.HiddenSize, config.IntermediateSize));
        Layers = new DecoderLayer[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            Layers[i] = new DecoderLayer(config, weights, i, Rotary, feedForward(i));
        }
        register_module("layers", nn.ModuleList(Layers));
        FinalNorm = new RmsNorm(weights.Get(WeightNames.FinalNorm, config.HiddenSize), config.RmsNormEpsilon);
        register_module("norm", FinalNorm);
        if (!config.TieWordEmbeddings)
        {
            _head = OwnedParameter.From(weights.Get(WeightNames.Head, config.VocabSize, config.HiddenSize));
            register_parameter("lm_head", _head);
        }
        HeldPrecision = parameters().Select(HeldBlocks.PrecisionOf).FirstOrDefault(p => p is not null)
            ?? (DType == ScalarType.BFloat16 ? Inference.DecodePrecision.BFloat16
            : Inference.DecodePrecision.Float32);
    }

    /// <summary>
    /// A model that shares everything with <paramref name="source"/> except the feed-forward blocks, which
    /// <paramref name="feedForward"/> supplies: how a dense model and its conversion run side by side in one
    /// process without a second copy of the attention and embedding weights. Disposing it disposes only its
    /// own feed-forward blocks; the source must outlive it.
    /// </summary>
    internal LlamaModel(LlamaModel source, Func<int, FeedForward> feedForward) : base(nameof(LlamaModel))
    {
        Config = source.Config;
        Rotary = source.Rotary;
        _embedding = source._embedding;
        _head = source._head;
        FinalNorm = source.FinalNorm;
        Layers = source.Layers.Select(layer => new DecoderLayer(layer, feedForward(layer.Index))).ToArray();
        _sharesWeights = true;
        HeldPrecision = source.HeldPrecision;
        register_parameter("embed_tokens", _embedding);
        register_module("layers", nn.ModuleList(Layers));
        register_module("norm", FinalNorm);
        if (_head is not null)
        {
            register_parameter("lm_head", _head);
        }
    }

    private readonly bool _sharesWeights;
    private readonly Dictionary<Inference.DecodePrecision, Inference.Decoding.DecodeWeights> _decodeWeights = [];
    private readonly List<Inference.Decoding.DecodeWeights> _retiredDecodeWeights = [];

    public ModelConfig Config { get; }

    internal RotaryEmbedding Rotary { get; }

    /// <summary>Where the weights are: inputs, caches and masks are made there, never on a fixed device.</summary>
    internal Device Device => _embedding.device;

    /// <summary>The type of the embedding, which the activations and the KV cache share (float32 for a model held in int8).</summary>
    internal ScalarType DType => _embedding.dtype;

    /// <summary>The precision the weight matrices are held in (<see cref="LoadOptions.Precision"/>).</summary>
    internal Inference.DecodePrecision HeldPrecision { get; }

    internal DecoderLayer[] Layers { get; }

    internal RmsNorm FinalNorm { get; }

    /// <summary>Token embedding [vocab, hidden].</summary>
    public Parameter Embedding => _embedding;

    /// <summary>Output head [vocab, hidden]: the embedding itself when tied.</summary>
    public Parameter Head => _head ?? _embedding;

    /// <summary>Logits [batch, tokens, vocab] for whole sequences (training, evaluation).</summary>
    public override Tensor forward(Tensor tokens) => Forward(tokens, 0, null, lastTokenOnly: false);

    /// <summary>
    /// Runs tokens [batch, tokens] at positions start.. . With a cache (batch 1) their keys and values are
    /// kept for later steps. The Mixture-of-Experts blocks route by <paramref name="routing"/> (null: as built).
    /// Returns logits [batch, tokens or 1, vocab].
    /// </summary>
    internal Tensor Forward(Tensor tokens, int start, KvCache? cache, bool lastTokenOnly, RoutingContext? routing = null)
    {
        using var scope = NewDisposeScope();
        long batch = tokens.shape[0], count = tokens.shape[1];
        cache?.Reserve(checked(start + (int)count));
        Tensor x = _embedding.index_select(0, tokens.flatten()).view(batch, count, Config.HiddenSize);
        foreach (DecoderLayer layer in Layers)
        {
            x = layer.Forward(x, start, cache, routing);
        }
        if (lastTokenOnly)
        {
            x = x.narrow(1, count - 1, 1);
        }
        return HeldBlocks.Linear(FinalNorm.forward(x), Head).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Every weight under its checkpoint name (<see cref="WeightNames"/>), the live tensors, not copies: what
    /// a writer saves and a loader gives back.
    /// </summary>
    /// <exception cref="NotSupportedException">The model holds its matrices in int8: they are not float tensors.</exception>
    public Dictionary<string, Tensor> NamedWeights()
    {
        HeldBlocks.RefuseHeld(this, "save or export");
        var named = new Dictionary<string, Tensor> { [WeightNames.Embedding] = _embedding, [WeightNames.FinalNorm] = FinalNorm.Weight };
        if (_head is not null)
        {
            named[WeightNames.Head] = _head;
        }
        foreach (DecoderLayer layer in Layers)
        {
            int i = layer.Index;
            Attention a = layer.Attention;
            named[WeightNames.AttentionNorm(i)] = layer.AttentionNorm.Weight;
            named[WeightNames.FfnNorm(i)] = layer.FeedForwardNorm.Weight;
            named[WeightNames.Query(i)] = a.Query.Weight;
            named[WeightNames.Key(i)] = a.Key.Weight;
            named[WeightNames.Value(i)] = a.Value.Weight;
            named[WeightNames.Output(i)] = a.Output.Weight;
            if (a.QueryNorm is not null)
            {
                named[WeightNames.QueryNorm(i)] = a.QueryNorm.Weight;
                named[WeightNames.KeyNorm(i)] = a.KeyNorm!.Weight;
            }
            if (a.Query.Bias is not null)
            {
                named[WeightNames.QueryBias(i)] = a.Query.Bias;
                named[WeightNames.KeyBias(i)] = a.Key.Bias!;
                named[WeightNames.ValueBias(i)] = a.Value.Bias!;
            }
            foreach (KeyValuePair<string, Tensor> weight in layer.FeedForward.NamedWeights(i))
            {
                named[weight.Key] = weight.Value;
            }
        }
        return named;
    }

    /// <summary>Parameter counts by part, for inspection and reports.</summary>
    public ParameterCounts CountParameters()
    {
        long attention = 0, norms = FinalNorm.Weight.numel(), ffn = 0, ffnActive = 0;
        foreach (DecoderLayer layer in Layers)
        {
            attention += layer.Attention.parameters().Sum(p => p.numel());
            norms += layer.AttentionNorm.Weight.numel() + layer.FeedForwardNorm.Weight.numel();
            ffn += layer.FeedForward.TotalParameters;
            ffnActive += layer.FeedForward.ActiveParameters;
        }
        return new ParameterCounts(_embedding.numel(), _head?.numel() ?? 0, attention, norms, ffn, ffnActive);
    }

    /// <summary>
    /// The decode kernels' view of the weights in <paramref name="precision"/>: made at the first session that asks
    /// for it (bfloat16 and int8 are copies), then shared by every session until the model is disposed or its
    /// weights change (<see cref="ForgetDecodeWeights"/>).
    /// </summary>
    internal Inference.Decoding.DecodeWeights DecodeWeights(Inference.DecodePrecision precision)
    {
        precision = Inference.Decoding.DecodeWeights.Effective(this, precision);
        lock (_decodeWeights)
        {
            if (!_decodeWeights.TryGetValue(precision, out Inference.Decoding.DecodeWeights? weights))
            {
                weights = Inference.Decoding.DecodeWeights.Create(this, precision);
                _decodeWeights.Add(precision, weights);
            }
            return weights;
        }
    }

    /// <summary>
    /// Retires the bfloat16 and int8 copies after the weights were changed in place (training), so the next session
    /// copies the new values. Sessions already running keep reading the copies they have: those are freed with the model.
    /// </summary>
    internal void ForgetDecodeWeights()
    {
        lock (_decodeWeights)
        {
            _retiredDecodeWeights.AddRange(_decodeWeights.Values);
            _decodeWeights.Clear();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_decodeWeights)
            {
                foreach (Inference.Decoding.DecodeWeights weights in _decodeWeights.Values.Concat(_retiredDecodeWeights))
                {
                    weights.Dispose();
                }
                _decodeWeights.Clear();
                _retiredDecodeWeights.Clear();
            }
        }
        if (_sharesWeights)
        {
            // The shared parts belong to the source model; only this view's feed-forward blocks are its own.
            if (disposing)
            {
                foreach (DecoderLayer layer in Layers)
                {
                    layer.FeedForward.Dispose();
                }
            }
            return;
        }
        base.Dispose(disposing);
    }
}

/// <summary>Parameters of a model by part. A tied head counts zero (it is the embedding).</summary>
public sealed record ParameterCounts(long Embedding, long Head, long Attention, long Norms, long FeedForward, long FeedForwardActive)
{
    public long Total => Embedding + Head + Attention + Norms + FeedForward;

    /// <summary>Share of all parameters that sit in the feed-forward blocks.</summary>
    public double FeedForwardShare => (double)FeedForward / Total;

    /// <summary>Active over total feed-forward parameters per token: 1 for a dense model.</summary>
    public double ActiveFeedForwardRatio => (double)FeedForwardActive / FeedForward;
}
