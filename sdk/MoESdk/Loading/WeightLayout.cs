using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Which tensors a <see cref="ModelConfig"/> implies, and of what shape, in the <see cref="WeightNames"/>
/// layout. A tied model has no <see cref="WeightNames.Head"/>: the engine reuses the embedding.
/// </summary>
internal static class WeightLayout
{
    /// <summary>Every tensor of the model, with its expected shape, embedding first and head last.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Expected(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long hidden = config.HiddenSize;
        long queries = (long)config.NumHeads * config.HeadDim;
        long keys = (long)config.NumKeyValueHeads * config.HeadDim;
        long inner = config.IntermediateSize;

        var expected = new List<(string, long[])> { (WeightNames.Embedding, [config.VocabSize, hidden]) };
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            expected.Add((WeightNames.AttentionNorm(layer), [hidden]));
            expected.Add((WeightNames.Query(layer), [queries, hidden]));
            expected.Add((WeightNames.Key(layer), [keys, hidden]));
            expected.Add((WeightNames.Value(layer), [keys, hidden]));
            if (config.AttentionBias)
            {
                expected.Add((WeightNames.QueryBias(layer), [queries]));
                expected.Add((WeightNames.KeyBias(layer), [keys]));
                expected.Add((WeightNames.ValueBias(layer), [keys]));
            }
            if (config.QueryKeyNorm)
            {
                expected.Add((WeightNames.QueryNorm(layer), [config.HeadDim]));
                expected.Add((WeightNames.KeyNorm(layer), [config.HeadDim]));
            }
            expected.Add((WeightNames.Output(layer), [hidden, queries]));
            expected.Add((WeightNames.FfnNorm(layer), [hidden]));
            if (config.Mixture is { } mixture)
            {
                AddMixture(expected, layer, hidden, mixture);
                continue;
            }
            expected.Add((WeightNames.Gate(layer), [inner, hidden]));
            expected.Add((WeightNames.Up(layer), [inner, hidden]));
            expected.Add((WeightNames.Down(layer), [hidden, inner]));
        }
        expected.Add((WeightNames.FinalNorm, [hidden]));
        if (!config.TieWordEmbeddings)
        {
            expected.Add((WeightNames.Head, [config.VocabSize, hidden]));
        }
        return expected;
    }

    /// <summary>A Hugging Face MoE layer's router, experts and (Qwen2-MoE) gated shared expert, in <see cref="MoEWeightNames"/>.</summary>
    private static void AddMixture(List<(string, long[])> expected, int layer, long hidden, MixtureConfig mixture)
    {
        long width = mixture.ExpertWidth, shared = mixture.SharedWidth;
        expected.Add((MoEWeightNames.Router(layer), [mixture.Experts, hidden]));
        for (int e = 0; e < mixture.Experts; e++)
        {
            expected.Add((MoEWeightNames.ExpertGate(layer, e), [width, hidden]));
            expected.Add((MoEWeightNames.ExpertUp(layer, e), [width, hidden]));
            expected.Add((MoEWeightNames.ExpertDown(layer, e), [hidden, width]));
        }
        if (shared > 0)
        {
            expected.Add((MoEWeightNames.SharedGate(layer, 0), [shared, hidden]));
            expected.Add((MoEWeightNames.SharedUp(layer, 0), [shared, hidden]));
            expected.Add((MoEWeightNames.SharedDown(layer, 0), [hidden, shared]));
            expected.Add((MoEWeightNames.SharedExpertGate(layer), [1, hidden]));
        }
    }

    /// <summary>
    /// Throws <see cref="ModelFormatException"/> unless the decoder layers <paramref name="names"/> hold
    /// (model.layers.N.…) are exactly as many as <paramref name="config"/> says. Checked before any per-layer
    /// list is built, so a config that claims a billion layers fails at once, and one that claims fewer
    /// layers than the file holds does not silently drop the rest.
    /// </summary>
    public static void CheckLayerCount(IEnumerable<string> names, ModelConfig config, string source)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(config);
        int present = 0;
        string? deepest = null;
        foreach (string name in names)
        {
            if (LayerOf(name) is { } layer && layer >= present)
            {
                present = layer + 1;
                deepest = name;
            }
        }
        if (config.NumLayers > present)
        {
            throw new ModelFormatException(source,
                $"num_hidden_layers is {config.NumLayers}, but the weights hold {present} decoder layers; set num_hidden_layers to {present} in {HuggingFaceConfig.FileName} or use the weights it was saved with");
        }
        if (config.NumLayers < present)
        {
            throw new ModelFormatException(source,
                $"holds {present} decoder layers (up to '{deepest}'), but num_hidden_layers is {config.NumLayers}; set num_hidden_layers to {present} in {HuggingFaceConfig.FileName}");
        }
    }

    private static int? LayerOf(string name)
    {
        const string Prefix = "model.layers.";
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        int end = name.IndexOf('.', Prefix.Length);
        ReadOnlySpan<char> digits = end < 0 ? name.AsSpan(Prefix.Length) : name.AsSpan(Prefix.Length, end - Prefix.Length);
        return int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer) && layer < int.MaxValue ? layer : null;
    }

    /// <summary>Throws <see cref="ModelFormatException"/> unless every expected tensor is present, of its shape and of the type <paramref name="options"/> hold it in (default: float32).</summary>
    public static void Validate(ModelWeights weights, ModelConfig config, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        options ??= LoadOptions.Default;
        foreach ((string name, long[] shape) in Expected(config))
        {
            Tensor tensor = weights.Get(name, shape);
            ScalarType type = options.HeldType(name, shape);
            if (tensor.dtype != type)
            {
                throw new ModelFormatException(weights.Source, $"tensor '{name}' is {tensor.dtype}, expected {type}");
            }
        }
    }

    /// <summary>
    /// Weights of the right shapes for <paramref name="config"/>, drawn from N(0, 0.02²) with norms at 1 and
    /// biases at 0 (the usual initialization): for tests and benchmarks that need a model of a given size.
    /// </summary>
    public static ModelWeights Random(ModelConfig config, long seed, string source = "random weights")
    {
        using var generator = new Generator(unchecked((ulong)seed));
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string name, long[] shape) in Expected(config))
        {
            Tensor tensor = shape.Length == 1
                ? (name.EndsWith(".bias", StringComparison.Ordinal) ? zeros(shape) : ones(shape))
                : randn(shape, generator: generator).mul_(0.02f);
            tensors.Add(name, tensor.DetachFromDisposeScope());
        }
        return new ModelWeights(source, tensors);
    }
}
