using MoESdk.Chat;
using MoESdk.Inference;
using MoESdk.Modules;

namespace MoESdk.Serving;

/// <summary>Limits, sampling and compute budget of one generation request.</summary>
public sealed record MoEGenerationOptions
{
    /// <summary>Most tokens to generate (the prompt not counted).</summary>
    public int MaxTokens { get; init; } = 256;

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>
    /// Routed experts run per token for this request, in 1..the model's experts per layer; null uses the model's
    /// default. Fewer experts compute less (faster) at some cost in quality. Only Mixture-of-Experts models accept it.
    /// </summary>
    public int? ExpertsPerToken { get; init; }

    /// <summary>
    /// Experts to disable or pin, and per-layer top-k, for this request only (e.g. a generated model class's
    /// <c>CreateRoutingPolicy()…Build()</c>, which converts to this type); null routes as the model does. Checked
    /// against the model's layers and experts; a per-layer top-k here wins over <see cref="ExpertsPerToken"/>. It applies
    /// to this request only, however many requests run at once.
    /// </summary>
    public ExpertRoutingPolicy? RoutingPolicy { get; init; }

    /// <summary>
    /// How chat messages are rendered with the model's chat template (generation prompt, tools, template arguments such
    /// as <c>enable_thinking</c>); null for the defaults. Only generation from chat messages reads it.
    /// </summary>
    public ChatTemplateOptions? Chat { get; init; }

    /// <summary>
    /// Texts that end the generation: the text is cut just before the first of them to appear and the generation
    /// ends with <see cref="FinishReason.Stop"/>. Streamed text that might be the start of one is held back until it is
    /// known not to be. The model's end-of-sequence tokens always stop it too.
    /// </summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Whether each <see cref="GeneratedToken"/> carries its experts (a small copy per token and layer).</summary>
    public bool IncludeExperts { get; init; } = true;
}
