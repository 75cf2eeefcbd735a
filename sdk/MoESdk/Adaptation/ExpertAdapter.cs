using MoESdk.Artifacts;
using MoESdk.Evaluation;
using MoESdk.Modules;
using TorchSharp.Modules;

namespace MoESdk.Adaptation;

/// <summary>
/// Adapts a Mixture-of-Experts model to a domain from a small corpus by fine-tuning only the experts the
/// domain uses (and the routers of their layers); attention, embeddings, norms, the head and every other
/// expert stay bit-identical, so the model's behaviour elsewhere changes only through routing.
/// </summary>
public sealed class ExpertAdapter
{
    private readonly AdaptationOptions _options;

    public ExpertAdapter(AdaptationOptions options)
    {
        options.Validate();
        _options = options;
    }

    /// <summary>
    /// Fine-tunes <paramref name="model"/> in place on <paramref name="corpus"/> and says what changed. Write the
    /// result with <see cref="Save"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The model is dense, the corpus is too short or the selection names experts the model lacks.</exception>
    public AdaptationResult Adapt(LanguageModel model, AdaptationCorpus corpus, IProgress<AdaptationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        MixtureOfExpertsFeedForward[] blocks = RoutingProfile.Blocks(model.Model);
        int[] tokens = [.. model.RequireTokenizer().Encode(corpus.Text, addBos: false)];
        FineTuning.RequireOneWindow(tokens, _options, corpus.Name);
        int profileWindows = Math.Min(_options.ProfileWindows, (tokens.Length - 1) / _options.SequenceLength);
        RoutingProfile profile = RoutingProfile.Collect(model.Model, tokens, _options.SequenceLength, profileWindows,
            progress is null ? null : new InlineProgress<int>(done => progress.Report(new AdaptationProgress("profiling", done, profileWindows))), cancellationToken);
        AdaptedExpert[] chosen = Choose(blocks, profile);
        int[] routerLayers = _options.TrainRouters ? chosen.Select(e => e.Layer).Distinct().Order().ToArray() : [];

        var trained = new List<Parameter>();
        foreach (AdaptedExpert e in chosen)
        {
            Expert expert = blocks[e.Layer].Experts[e.Expert];
            trained.AddRange([expert.Gate.Weight, expert.Up.Weight, expert.Down.Weight]);
        }
        trained.AddRange(routerLayers.Select(layer => blocks[layer].Router.Weight));
        FineTuningResult training = FineTuning.Run(model.Model, trained, tokens, _options, progress, cancellationToken);

        var record = new AdaptationRecord(_options.Experts.IsAuto ? "auto" : "explicit", chosen, routerLayers, _options.Steps, _options.LearningRate,
            _options.Seed, _options.BatchSize, _options.SequenceLength, corpus.Describe(tokens.Length), training.TrainedParameters,
            training.InitialLoss, training.FinalLoss);
        return new AdaptationResult(record, training);
    }

    /// <summary>
    /// Writes the adapted model as a new artifact at <paramref name="path"/>: the source manifest with the
    /// adaptation recorded, and the tokenizer files of the artifact the model was opened from.
    /// </summary>
    public static MoEManifest Save(LanguageModel adapted, AdaptationRecord record, string path)
    {
        MoEManifest manifest = adapted.Manifest
            ?? throw new ArgumentException($"'{adapted.Source}' is not a Mixture-of-Experts artifact; only artifacts can be saved as adapted artifacts.");
        return MoEArtifact.Save(path, adapted.Model, manifest with { Adaptation = record }, adapted.Source);
    }

    private AdaptedExpert[] Choose(MixtureOfExpertsFeedForward[] blocks, RoutingProfile profile)
    {
        ExpertSelection selection = _options.Experts;
        if (!selection.IsAuto)
        {
            foreach ((int layer, int expert) in selection.Listed)
            {
                if (layer >= blocks.Length)
                {
                    throw new ArgumentException($"Layer {layer} in the expert list does not exist: the model has layers 0..{blocks.Length - 1}.");
                }
                if (expert >= blocks[layer].Experts.Count)
                {
                    throw new ArgumentException($"Expert {expert} of layer {layer} does not exist: the layer has experts 0..{blocks[layer].Experts.Count - 1}.");
                }
            }
            return selection.Listed.Select(p => new AdaptedExpert(p.Layer, p.Expert, profile.Shares(p.Layer)[p.Expert])).ToArray();
        }
        var chosen = new List<AdaptedExpert>();
        for (int layer = 0; layer < blocks.Length; layer++)
        {
            double[] shares = profile.Shares(layer);
            int perLayer = Math.Min(selection.PerLayer ?? blocks[layer].TopK, shares.Length);
            chosen.AddRange(Enumerable.Range(0, shares.Length)
                .OrderByDescending(e => shares[e]).ThenBy(e => e)
                .Take(perLayer).Order()
                .Select(e => new AdaptedExpert(layer, e, shares[e])));
        }
        return [.. chosen];
    }
}

/// <summary>The outcome of <see cref="ExpertAdapter.Adapt"/>.</summary>
/// <param name="Record">What was adapted, as recorded in the manifest.</param>
/// <param name="Training">The fine-tuning run.</param>
public sealed record AdaptationResult(AdaptationRecord Record, FineTuningResult Training);
