namespace MoESdk.Loading;

/// <summary>A model read from disk: its configuration and its float32 weights in the <see cref="WeightNames"/> layout.</summary>
internal sealed class LoadedModel : IDisposable
{
    public LoadedModel(ModelConfig config, ModelWeights weights)
    {
        Config = config;
        Weights = weights;
    }

    public ModelConfig Config { get; }

    /// <summary>Owned by this model: disposing it disposes them.</summary>
    public ModelWeights Weights { get; }

    public void Dispose() => Weights.Dispose();
}
