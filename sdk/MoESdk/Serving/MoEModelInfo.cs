using MoESdk.Modules;

namespace MoESdk.Serving;

/// <summary>What a served model is, from its manifest (Mixture-of-Experts artifact) or its config (dense model).</summary>
/// <param name="Name">Model name: the manifest's name, or the folder's name for a dense model.</param>
/// <param name="Source">The path the model was opened from.</param>
/// <param name="Architecture">Architecture as in config.json, e.g. LlamaForCausalLM.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="HiddenSize">Width of the hidden state.</param>
/// <param name="VocabSize">Tokens in the vocabulary.</param>
/// <param name="ContextLength">Longest sequence (prompt plus generated tokens).</param>
/// <param name="ExpertsPerLayer">Routed experts of each layer; empty for a dense model.</param>
/// <param name="DefaultExpertsPerToken">Experts run per token when a request does not say; 0 for a dense model.</param>
/// <param name="Method">Conversion method (factor, ...); null for a dense model.</param>
/// <param name="ActiveFeedForwardRatio">Feed-forward parameters a token uses over all of them at the default top-k.</param>
/// <param name="Parameters">Parameter counts by part.</param>
public sealed record MoEModelInfo(string Name, string Source, string Architecture, int Layers, int HiddenSize, int VocabSize, int ContextLength,
    IReadOnlyList<int> ExpertsPerLayer, int DefaultExpertsPerToken, string? Method, double ActiveFeedForwardRatio, ParameterCounts Parameters)
{
    public bool IsMixtureOfExperts => ExpertsPerLayer.Count > 0;

    /// <summary>The precision decode reads the weight matrices in (<see cref="MoEServingOptions.Precision"/>).</summary>
    public Inference.DecodePrecision DecodePrecision { get; init; }

    /// <summary>The largest experts-per-token every layer accepts: the fewest experts of any layer.</summary>
    public int MaxExpertsPerToken => IsMixtureOfExperts ? ExpertsPerLayer.Min() : 0;

    /// <summary>Describes <paramref name="model"/>, served with <paramref name="expertsPerToken"/> experts per token by default (null: its blocks' own top-k).</summary>
    public static MoEModelInfo Describe(LanguageModel model, string? name = null, int? expertsPerToken = null)
    {
        LlamaModel llama = model.Model;
        MixtureOfExpertsFeedForward[] blocks = MixtureOfExpertsBlocks(llama);
        ParameterCounts counts = llama.CountParameters();
        string fallbackName = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Source)));
        return new MoEModelInfo(
            name ?? model.Manifest?.Name ?? fallbackName,
            model.Source,
            llama.Config.Architecture,
            llama.Config.NumLayers,
            llama.Config.HiddenSize,
            llama.Config.VocabSize,
            llama.Config.MaxPositions,
            blocks.Select(b => b.Experts.Count).ToArray(),
            blocks.Length == 0 ? 0 : expertsPerToken ?? blocks[0].TopK,
            model.Manifest?.Method.Name,
            counts.ActiveFeedForwardRatio,
            counts);
    }

    /// <summary>The model's Mixture-of-Experts blocks in layer order; empty when any layer is dense.</summary>
    internal static MixtureOfExpertsFeedForward[] MixtureOfExpertsBlocks(LlamaModel model)
    {
        MixtureOfExpertsFeedForward[] blocks = model.Layers.Select(l => l.FeedForward).OfType<MixtureOfExpertsFeedForward>().ToArray();
        return blocks.Length == model.Layers.Length ? blocks : [];
    }
}
