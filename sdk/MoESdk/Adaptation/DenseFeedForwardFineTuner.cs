using MoESdk.Modules;
using TorchSharp.Modules;

namespace MoESdk.Adaptation;

/// <summary>
/// The baseline for <see cref="ExpertAdapter"/>: fine-tunes every dense feed-forward block of a dense model
/// on the same corpus with the same recipe, everything else frozen. Comparing the two shows what adapting a
/// few experts buys (or costs) against adapting the whole FFN.
/// </summary>
internal sealed class DenseFeedForwardFineTuner
{
    private readonly FineTuningOptions _options;

    public DenseFeedForwardFineTuner(FineTuningOptions options)
    {
        options.Validate();
        _options = options;
    }

    /// <summary>Fine-tunes <paramref name="model"/>'s feed-forward blocks in place on <paramref name="corpus"/>.</summary>
    /// <exception cref="ArgumentException">The model is not dense or the corpus is too short.</exception>
    public FineTuningResult Tune(LanguageModel model, AdaptationCorpus corpus, IProgress<AdaptationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var trained = new List<Parameter>();
        foreach (DecoderLayer layer in model.Model.Layers)
        {
            var ffn = layer.FeedForward as DenseFeedForward
                ?? throw new ArgumentException($"Layer {layer.Index} of '{model.Source}' is not a dense feed-forward block: the baseline fine-tunes dense models (use ExpertAdapter for artifacts).");
            trained.AddRange([ffn.Gate.Weight, ffn.Up.Weight, ffn.Down.Weight]);
        }
        int[] tokens = [.. model.RequireTokenizer().Encode(corpus.Text, addBos: false)];
        FineTuning.RequireOneWindow(tokens, _options, corpus.Name);
        return FineTuning.Run(model.Model, trained, tokens, _options, progress, cancellationToken);
    }
}
