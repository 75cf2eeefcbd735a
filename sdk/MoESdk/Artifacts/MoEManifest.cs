using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoESdk.Artifacts;

/// <summary>
/// <c>moe.json</c>: the small, self-describing manifest of a Mixture-of-Experts artifact. It says what the
/// model is (architecture, per-layer experts), where it came from (source hash), how it was made (method and
/// all its parameters) and how good and fast it is (conversion report). The source generator reads only
/// this file, never the weights.
/// </summary>
public sealed record MoEManifest
{
    public const string FileName = "moe.json";

    /// <summary>The schema this SDK writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>Model name, e.g. kjv-llama; the source generator derives type names from it.</summary>
    public required string Name { get; init; }

    public required SourceModel Source { get; init; }

    public required ArchitectureSummary Architecture { get; init; }

    public required ConversionMethod Method { get; init; }

    /// <summary>One entry per decoder layer.</summary>
    public required IReadOnlyList<LayerExperts> Layers { get; init; }

    /// <summary>Feed-forward parameters a token uses over all feed-forward parameters of the dense source.</summary>
    public double ActiveFeedForwardRatio { get; init; }

    public ConversionReport? Report { get; init; }

    /// <summary>
    /// Set when experts of this model were fine-tuned on a domain corpus after conversion (absent otherwise,
    /// so manifests without it still read as schema version 1).
    /// </summary>
    public AdaptationRecord? Adaptation { get; init; }

    /// <summary>Tokenizer files copied into the artifact.</summary>
    public IReadOnlyList<string> TokenizerFiles { get; init; } = [];

    /// <summary>Weights file inside the artifact.</summary>
    public string Weights { get; init; } = "model.safetensors";

    public string CreatedBy { get; init; } = "MoESdk";

    /// <summary>
    /// The manifest of a conversion of <paramref name="dense"/>: architecture, method, per-layer experts and the
    /// active FFN ratio (over the dense FFN) read from the models themselves, so every writer records the same facts.
    /// </summary>
    public static MoEManifest ForConversion(string name, SourceModel source, Modules.LlamaModel dense, Conversion.ConversionResult conversion,
        string method, ConversionReport? report = null) => new()
    {
        Name = name,
        Source = source,
        Architecture = ArchitectureSummary.Of(dense.Config),
        Method = new ConversionMethod(method, conversion.Partition, conversion.Router, conversion.OutputRule, conversion.Parameters),
        Layers = conversion.Model.Layers.Select(l => LayerExperts.Of((Modules.MixtureOfExpertsFeedForward)l.FeedForward)).ToArray(),
        ActiveFeedForwardRatio = conversion.ActiveFeedForwardRatio(dense),
        Report = report,
        CreatedBy = $"MoESdk {typeof(MoEManifest).Assembly.GetName().Version}",
    };

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>The dense model an artifact was converted from.</summary>
/// <param name="Path">The source's folder (or file) name (informational; no absolute path, so artifacts do not depend on where the source lies).</param>
/// <param name="Sha256">SHA-256 over the source's weight and config files, hex: identifies the exact source.</param>
public sealed record SourceModel(string Path, string Sha256)
{
    /// <summary>The source at <paramref name="path"/>: its name and the hash of its contents.</summary>
    public static SourceModel Of(string path) =>
        new(System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path))), SourceFingerprint.Compute(path));
}

/// <summary>The decoder's shape, repeated from config.json so the manifest stands alone.</summary>
public sealed record ArchitectureSummary(string Architecture, int HiddenSize, int IntermediateSize, int Layers, int Heads,
    int KeyValueHeads, int VocabSize, int ContextLength)
{
    public static ArchitectureSummary Of(Loading.ModelConfig c) =>
        new(c.Architecture, c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKeyValueHeads, c.VocabSize, c.MaxPositions);
}

/// <summary>How the experts and routers were made.</summary>
/// <param name="Name">factor, tomoe, cluster or coact.</param>
/// <param name="Partition">contiguous, cluster, coactivation or masks.</param>
/// <param name="Router">analytic (training-free), par (FactorLLM prior-approximate, trained) or gumbel (ToMoE).</param>
/// <param name="OutputRule">How chosen experts combine.</param>
/// <param name="Parameters">Every setting of the method (experts, top-k, steps, seed, learning rate, ...).</param>
public sealed record ConversionMethod(string Name, string Partition, string Router, Modules.ExpertOutputRule OutputRule,
    IReadOnlyDictionary<string, string> Parameters);

/// <summary>A layer's experts.</summary>
/// <param name="Experts">Routed experts.</param>
/// <param name="ExpertWidth">Neurons per routed expert.</param>
/// <param name="TopK">Experts run per token.</param>
/// <param name="SharedExperts">Always-on experts.</param>
/// <param name="SharedWidth">Neurons per shared expert (0 when none).</param>
public sealed record LayerExperts(int Experts, int ExpertWidth, int TopK, int SharedExperts = 0, int SharedWidth = 0)
{
    internal static LayerExperts Of(Modules.MixtureOfExpertsFeedForward block) => new(block.Experts.Count, (int)block.Experts[0].Width, block.TopK,
        block.SharedExperts.Count, block.SharedExperts.Count > 0 ? (int)block.SharedExperts[0].Width : 0);
}

/// <summary>
/// Quality and speed measured at conversion, dense and MoE in one process: only what was measured is set (a conversion
/// without a report has the calibration token count alone, and no timing, so it stays reproducible).
/// </summary>
public sealed record ConversionReport
{
    /// <summary>
    /// The report of <paramref name="conversion"/> holding only what was measured: the quality comparison (on
    /// <paramref name="evaluationText"/>, recorded by file name) and the dense-then-MoE speed results when given, and the
    /// conversion time only when something was measured.
    /// </summary>
    internal static ConversionReport Of(Conversion.ConversionResult conversion, Evaluation.ComparisonResult? quality = null,
        IReadOnlyList<Evaluation.SpeedResult>? speed = null, string? evaluationText = null) => new()
    {
        DensePerplexity = quality?.Reference.Perplexity,
        MoEPerplexity = quality?.Candidate.Perplexity,
        MeanKlDivergence = quality?.MeanKlDivergence,
        DenseTopOneAccuracy = quality?.Reference.TopOneAccuracy,
        MoETopOneAccuracy = quality?.Candidate.TopOneAccuracy,
        AccuracyKept = quality?.AccuracyKept,
        EvaluationText = quality is null || evaluationText is null ? null : System.IO.Path.GetFileName(evaluationText),
        EvaluationTokens = quality?.Reference.Tokens,
        DecodeSpeedup = speed is null ? null : speed[1].DecodeTokensPerSecond / speed[0].DecodeTokensPerSecond,
        PrefillSpeedup = speed is null ? null : speed[1].PrefillTokensPerSecond / speed[0].PrefillTokensPerSecond,
        CalibrationTokens = conversion.CalibrationTokens,
        ConversionSeconds = quality is null && speed is null ? null : conversion.Duration.TotalSeconds,
    };

    public double? DensePerplexity { get; init; }
    public double? MoEPerplexity { get; init; }
    public double? MeanKlDivergence { get; init; }

    /// <summary>Next-token top-1 accuracy of the dense model and of the MoE on the evaluation text.</summary>
    public double? DenseTopOneAccuracy { get; init; }
    public double? MoETopOneAccuracy { get; init; }

    /// <summary>The MoE's top-1 accuracy as a share of the dense model's ("performance kept").</summary>
    public double? AccuracyKept { get; init; }
    /// <summary>File name of the evaluation text.</summary>
    public string? EvaluationText { get; init; }
    public long? EvaluationTokens { get; init; }
    public double? DecodeSpeedup { get; init; }
    public double? PrefillSpeedup { get; init; }
    public long CalibrationTokens { get; init; }
    public double? ConversionSeconds { get; init; }
}

/// <summary>What a domain adaptation changed, and on what data: enough to reproduce or audit it.</summary>
/// <param name="Selection">auto (chosen from the domain routing) or explicit (listed by the user).</param>
/// <param name="Experts">The fine-tuned experts.</param>
/// <param name="Routers">Layers whose router was fine-tuned as well.</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="LearningRate">AdamW learning rate.</param>
/// <param name="Seed">Seed of the batch order.</param>
/// <param name="BatchSize">Windows per step.</param>
/// <param name="SequenceLength">Tokens per window.</param>
/// <param name="Data">The domain corpus.</param>
/// <param name="TrainedParameters">Parameters that received updates.</param>
/// <param name="InitialLoss">Training loss of the first step.</param>
/// <param name="FinalLoss">Mean training loss over the last steps.</param>
public sealed record AdaptationRecord(string Selection, IReadOnlyList<AdaptedExpert> Experts, IReadOnlyList<int> Routers, int Steps,
    double LearningRate, int Seed, int BatchSize, int SequenceLength, AdaptationData Data, long TrainedParameters, double InitialLoss, double FinalLoss);

/// <summary>One fine-tuned expert.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Expert">Routed expert index within the layer.</param>
/// <param name="DomainShare">Its share of the layer's routing on the domain text before adaptation.</param>
public sealed record AdaptedExpert(int Layer, int Expert, double? DomainShare = null);

/// <summary>The domain corpus of an adaptation.</summary>
/// <param name="Name">File name (informational).</param>
/// <param name="Sha256">SHA-256 of the corpus bytes, hex.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="Tokens">Tokens after tokenization.</param>
public sealed record AdaptationData(string Name, string Sha256, long Bytes, long Tokens);
