using System.Globalization;
using MoESdk.Loading;

namespace MoESdk.Conversion;

/// <summary>What a dense → Mixture-of-Experts conversion should produce, and how.</summary>
public sealed record ConversionOptions
{
    /// <summary>The methods <see cref="MoEConverter"/> knows.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["factor", "cluster", "coact", "tomoe"];

    /// <summary>factor (FactorLLM), cluster (MoEfication-style), coact (CMoE-style) or tomoe (ToMoE).</summary>
    public string Method { get; init; } = "factor";

    /// <summary>Routed experts per layer.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>Routed experts run per token.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Always-on shared experts per layer (coact uses one by default).</summary>
    public int? SharedExperts { get; init; }

    /// <summary>Router (and expert) training steps; null runs the method's recommended recipe.</summary>
    public int? Steps { get; init; }

    public int Seed { get; init; }

    /// <summary>Most calibration tokens used to collect activations and train routers.</summary>
    public int CalibrationTokens { get; init; } = 8192;

    /// <summary>Tokens per calibration window.</summary>
    public int WindowLength { get; init; } = 128;

    public int SharedExpertCount => SharedExperts ?? (Method == "coact" ? 1 : 0);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option, before any work starts.</summary>
    public void Validate(ModelConfig config)
    {
        if (!Methods.Contains(Method))
        {
            throw new ArgumentException($"Unknown method '{Method}': use one of {string.Join(", ", Methods)}.");
        }
        if (Experts < 2)
        {
            throw new ArgumentException($"--experts must be at least 2, was {Experts}.");
        }
        if (TopK < 1 || TopK > Experts)
        {
            throw new ArgumentException($"--top-k must be between 1 and the number of experts ({Experts}), was {TopK}.");
        }
        if (SharedExpertCount < 0 || SharedExpertCount >= Experts)
        {
            throw new ArgumentException($"--shared-experts must be between 0 and {Experts - 1}, was {SharedExpertCount}.");
        }
        int groups = Experts + SharedExpertCount;
        if (config.IntermediateSize % groups != 0)
        {
            throw new ArgumentException(
                $"The FFN width {config.IntermediateSize} does not divide into {groups} equal experts ({Experts} routed + {SharedExpertCount} shared); choose a count that divides {config.IntermediateSize}.");
        }
        if (Steps is < 0)
        {
            throw new ArgumentException($"--steps must be 0 or more, was {Steps}.");
        }
        if (CalibrationTokens < WindowLength + 1 || WindowLength < 2)
        {
            throw new ArgumentException($"Calibration needs at least one window of {WindowLength} tokens.");
        }
    }

    /// <summary>Every setting, as recorded in the artifact's manifest.</summary>
    public IReadOnlyDictionary<string, string> Describe(int steps) => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["experts"] = Experts.ToString(CultureInfo.InvariantCulture),
        ["topK"] = TopK.ToString(CultureInfo.InvariantCulture),
        ["sharedExperts"] = SharedExpertCount.ToString(CultureInfo.InvariantCulture),
        ["steps"] = steps.ToString(CultureInfo.InvariantCulture),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["calibrationTokens"] = CalibrationTokens.ToString(CultureInfo.InvariantCulture),
        ["windowLength"] = WindowLength.ToString(CultureInfo.InvariantCulture),
    };
}
