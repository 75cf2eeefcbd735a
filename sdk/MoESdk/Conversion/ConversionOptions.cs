using System.Globalization;
using MoESdk.Loading;

namespace MoESdk.Conversion;

/// <summary>What a dense → Mixture-of-Experts conversion should produce, and how.</summary>
public sealed record ConversionOptions
{
    /// <summary>The methods <see cref="MoEConverter"/> knows.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["factor", "cluster", "coact", "tomoe"];

    /// <summary>Routers the partition methods can use: analytic (training-free) or par (FactorLLM, trained).</summary>
    public static IReadOnlyList<string> Routers { get; } = ["analytic", "par"];

    /// <summary>Training steps of the trained recipes (PAR router, ToMoE masks) when <see cref="Steps"/> is not set.</summary>
    public const int DefaultTrainingSteps = 200;

    /// <summary>ToMoE's active-parameter target when <see cref="Budget"/> is not set.</summary>
    public const double DefaultBudget = 0.25;

    /// <summary>factor (FactorLLM), cluster (MoEfication-style), coact (CMoE-style) or tomoe (ToMoE).</summary>
    public string Method { get; init; } = "factor";

    /// <summary>Routed experts per layer.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>Routed experts run per token.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Always-on shared experts per layer (coact uses one by default).</summary>
    public int? SharedExperts { get; init; }

    /// <summary>analytic or par; null takes the method's default (par for factor, analytic for cluster and coact). ToMoE trains its own router.</summary>
    public string? Router { get; init; }

    /// <summary>Router (and expert) training steps; null runs the method's recommended recipe.</summary>
    public int? Steps { get; init; }

    /// <summary>Seed of everything random: cluster initialization, training batches, Gumbel noise, initial weights.</summary>
    public int Seed { get; init; }

    /// <summary>ToMoE only: target share of the FFN's parameters a token uses, in (0, 1]; null is <see cref="DefaultBudget"/>.</summary>
    public double? Budget { get; init; }

    /// <summary>PAR training learns from the dense model instead of the text: MSE to each dense FFN's output and KL to the dense logits replace the cross-entropy.</summary>
    public bool Distill { get; init; }

    /// <summary>Sequences per training step.</summary>
    public int TrainingBatchSize { get; init; } = 4;

    /// <summary>Most calibration tokens used to collect activations and train routers.</summary>
    public int CalibrationTokens { get; init; } = 8192;

    /// <summary>Tokens per calibration window.</summary>
    public int WindowLength { get; init; } = 128;

    public int SharedExpertCount => SharedExperts ?? (Method == "coact" ? 1 : 0);

    /// <summary>The router this conversion builds: analytic, par, or gumbel (ToMoE's).</summary>
    public string RouterName => Method == "tomoe" ? "gumbel" : Router ?? (Method == "factor" ? "par" : "analytic");

    /// <summary>Whether the recipe trains (and so takes minutes rather than seconds).</summary>
    public bool Trains => RouterName != "analytic";

    /// <summary>Training steps the recipe runs: 0 when training-free.</summary>
    public int TrainingSteps => Trains ? Steps ?? DefaultTrainingSteps : 0;

    /// <summary>ToMoE's active-parameter target.</summary>
    public double ActiveBudget => Budget ?? DefaultBudget;

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
        if (Router is not null && !Routers.Contains(Router))
        {
            throw new ArgumentException($"Unknown router '{Router}': use one of {string.Join(", ", Routers)}.");
        }
        if (Method == "tomoe")
        {
            ValidateToMoE();
        }
        else if (Budget is not null)
        {
            throw new ArgumentException($"--budget applies to tomoe only; {Method}'s active share is set by --top-k over --experts.");
        }
        if (SharedExpertCount < 0 || SharedExpertCount >= Experts)
        {
            throw new ArgumentException($"--shared-experts must be between 0 and {Experts - 1}, was {SharedExpertCount}.");
        }
        int groups = Experts + SharedExpertCount;
        // ToMoE's experts are cut by learned masks at the budget's width, not by dividing the FFN.
        if (Method != "tomoe" && config.IntermediateSize % groups != 0)
        {
            throw new ArgumentException(
                $"The FFN width {config.IntermediateSize} does not divide into {groups} equal experts ({Experts} routed + {SharedExpertCount} shared); choose a count that divides {config.IntermediateSize}.");
        }
        if (Steps is < 0)
        {
            throw new ArgumentException($"--steps must be 0 or more, was {Steps}.");
        }
        if (Distill && RouterName != "par")
        {
            throw new ArgumentException("--distill trains the experts alongside the PAR router; use it with --router par (the default of factor).");
        }
        if (TrainingBatchSize < 1)
        {
            throw new ArgumentException($"The training batch size must be at least 1, was {TrainingBatchSize}.");
        }
        if (CalibrationTokens < WindowLength + 1 || WindowLength < 2)
        {
            throw new ArgumentException($"Calibration needs at least one window of {WindowLength} tokens.");
        }
    }

    private void ValidateToMoE()
    {
        if (Router is not null)
        {
            throw new ArgumentException("tomoe trains its own Gumbel router; leave out --router.");
        }
        if (TopK != 1)
        {
            throw new ArgumentException($"tomoe routes each token to exactly one expert; use --top-k 1 (was {TopK}).");
        }
        if (SharedExpertCount != 0)
        {
            throw new ArgumentException("tomoe has no shared experts; leave out --shared-experts.");
        }
        if (Budget is { } budget && (double.IsNaN(budget) || budget <= 0 || budget > 1))
        {
            throw new ArgumentException($"--budget must be in (0, 1], the share of FFN parameters a token uses, was {budget.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    /// <summary>Every setting, as recorded in the artifact's manifest, plus the recipe's own (learning rates, loss weights).</summary>
    public IReadOnlyDictionary<string, string> Describe(IReadOnlyDictionary<string, string>? recipe = null)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["experts"] = Experts.ToString(CultureInfo.InvariantCulture),
            ["topK"] = TopK.ToString(CultureInfo.InvariantCulture),
            ["sharedExperts"] = SharedExpertCount.ToString(CultureInfo.InvariantCulture),
            ["router"] = RouterName,
            ["steps"] = TrainingSteps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["calibrationTokens"] = CalibrationTokens.ToString(CultureInfo.InvariantCulture),
            ["windowLength"] = WindowLength.ToString(CultureInfo.InvariantCulture),
        };
        if (Trains)
        {
            all["batchSize"] = TrainingBatchSize.ToString(CultureInfo.InvariantCulture);
        }
        if (RouterName == "par")
        {
            all["distill"] = Distill ? "true" : "false";
        }
        if (Method == "tomoe")
        {
            all["budget"] = ActiveBudget.ToString(CultureInfo.InvariantCulture);
        }
        foreach ((string key, string value) in recipe ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        return all;
    }
}
