using System.Globalization;
using MoESdk.Loading;

namespace MoESdk.Conversion;

/// <summary>What a dense → Mixture-of-Experts conversion should produce, and how.</summary>
public sealed record ConversionOptions
{
    /// <summary>Training steps of the trained recipes (PAR router, ToMoE masks) when <see cref="Steps"/> is not set.</summary>
    public const int DefaultTrainingSteps = 200;

    /// <summary>ToMoE's active-parameter target when <see cref="Budget"/> is not set.</summary>
    public const double DefaultBudget = 0.25;

    /// <summary>Equal slices of the FFN the default recipe cuts it into: routed experts plus shared ones.</summary>
    public const int DefaultSlices = 32;

    private readonly int? _experts;
    private readonly int? _expertsPerToken;

    /// <summary>
    /// How the experts are made: factor (FactorLLM), cluster (MoEfication-style), coact (CMoE-style) or tomoe (ToMoE).
    /// Default coact: with the default slices and a quarter of the FFN per token, the best measured quality at that
    /// budget that still decodes at least as fast as the dense model on the reference model (docs/RESULTS.md §16), and
    /// training-free (seconds to convert).
    /// </summary>
    public MoEMethod Method { get; init; } = MoEMethod.Coact;

    /// <summary>Routed experts per layer; default <see cref="DefaultSlices"/> less the shared experts (31 with coact's one).</summary>
    public int Experts
    {
        get => _experts ?? DefaultSlices - SharedExpertCount;
        init => _experts = value;
    }

    /// <summary>
    /// Routed experts run per token (the MoE's top-k; not the sampler's vocabulary top-k); default a quarter of the FFN:
    /// (<see cref="Experts"/> + shared) / 4 − shared, at least 1 (7 of 31 with one shared expert, 2 of 8 without); 1 for tomoe.
    /// </summary>
    public int ExpertsPerToken
    {
        get => _expertsPerToken ?? (Method == MoEMethod.ToMoE ? 1 : Math.Max(1, ((Experts + SharedExpertCount) / 4) - SharedExpertCount));
        init => _expertsPerToken = value;
    }

    /// <summary>Always-on shared experts per layer (coact uses one by default).</summary>
    public int? SharedExperts { get; init; }

    /// <summary>The partition methods' router; null takes the method's default (par for factor, analytic for cluster and coact). ToMoE trains its own.</summary>
    public MoERouter? Router { get; init; }

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

    public int SharedExpertCount => SharedExperts ?? (Method == MoEMethod.Coact ? 1 : 0);

    /// <summary>The router this conversion builds, as the manifest records it: analytic, par, or gumbel (ToMoE's).</summary>
    public string RouterName => Method == MoEMethod.ToMoE ? "gumbel" : ConversionChoice.Name(PartitionRouter);

    /// <summary>Whether the recipe trains (and so takes minutes rather than seconds).</summary>
    public bool Trains => Method == MoEMethod.ToMoE || PartitionRouter == MoERouter.Par;

    /// <summary>Training steps the recipe runs: 0 when training-free.</summary>
    public int TrainingSteps => Trains ? Steps ?? DefaultTrainingSteps : 0;

    /// <summary>ToMoE's active-parameter target.</summary>
    public double ActiveBudget => Budget ?? DefaultBudget;

    /// <summary>The router of a partition method: the one asked for, or the method's default.</summary>
    internal MoERouter PartitionRouter => Router ?? (Method == MoEMethod.Factor ? MoERouter.Par : MoERouter.Analytic);

    /// <summary>Whether the conversion trains a PAR router (a partition method with the par router).</summary>
    internal bool TrainsParRouter => Method != MoEMethod.ToMoE && PartitionRouter == MoERouter.Par;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first bad option (its <see cref="ArgumentException.ParamName"/>) and
    /// the values that work, before any work starts.
    /// </summary>
    public void Validate(ModelConfig config)
    {
        string method = ConversionChoice.Name(Method);
        if (!Enum.IsDefined(Method))
        {
            throw Invalid(nameof(Method), n => $"{n(nameof(Method))} {(int)Method} is not a method: use one of {ConversionChoice.Names<MoEMethod>()}.");
        }
        if (Experts < 2)
        {
            throw Invalid(nameof(Experts), n => $"{n(nameof(Experts))} must be at least 2, was {Experts}.");
        }
        if (ExpertsPerToken < 1 || ExpertsPerToken > Experts)
        {
            throw Invalid(nameof(ExpertsPerToken), n => $"{n(nameof(ExpertsPerToken))} (experts run per token) must be between 1 and {n(nameof(Experts))} ({Experts}), was {ExpertsPerToken}.");
        }
        if (Router is { } router && !Enum.IsDefined(router))
        {
            throw Invalid(nameof(Router), n => $"{n(nameof(Router))} {(int)router} is not a router: use one of {ConversionChoice.Names<MoERouter>()}.");
        }
        if (Method == MoEMethod.ToMoE)
        {
            ValidateToMoE();
        }
        else if (Budget is not null)
        {
            throw Invalid(nameof(Budget), n => $"{n(nameof(Budget))} applies to tomoe only; {method}'s active share is set by {n(nameof(ExpertsPerToken))} over {n(nameof(Experts))}.");
        }
        if (SharedExpertCount < 0 || SharedExpertCount >= Experts)
        {
            throw Invalid(nameof(SharedExperts), n => $"{n(nameof(SharedExperts))} must be between 0 and {Experts - 1}, was {SharedExpertCount}.");
        }
        int groups = Experts + SharedExpertCount;
        // ToMoE's experts are cut by learned masks at the budget's width, not by dividing the FFN.
        if (Method != MoEMethod.ToMoE && config.IntermediateSize % groups != 0)
        {
            throw Invalid(nameof(Experts), n =>
                $"The FFN width {config.IntermediateSize} does not divide into {groups} equal experts ({Experts} routed + {SharedExpertCount} shared); choose {n(nameof(Experts))} so that they divide {config.IntermediateSize}.");
        }
        if (Steps is < 0)
        {
            throw Invalid(nameof(Steps), n => $"{n(nameof(Steps))} must be 0 or more, was {Steps}.");
        }
        if (Distill && !TrainsParRouter)
        {
            throw Invalid(nameof(Distill), n => $"{n(nameof(Distill))} trains the experts alongside the PAR router; use it with the par router ({n(nameof(Router))}; the default of factor).");
        }
        if (TrainingBatchSize < 1)
        {
            throw Invalid(nameof(TrainingBatchSize), n => $"{n(nameof(TrainingBatchSize))} must be at least 1, was {TrainingBatchSize}.");
        }
        if (CalibrationTokens < WindowLength + 1 || WindowLength < 2)
        {
            throw Invalid(nameof(CalibrationTokens), n => $"Calibration needs at least one window: {n(nameof(WindowLength))} must be at least 2 and {n(nameof(CalibrationTokens))} above it, were {WindowLength} and {CalibrationTokens}.");
        }
    }

    private void ValidateToMoE()
    {
        if (Router is not null)
        {
            throw Invalid(nameof(Router), n => $"tomoe trains its own Gumbel router; leave {n(nameof(Router))} unset.");
        }
        if (ExpertsPerToken != 1)
        {
            throw Invalid(nameof(ExpertsPerToken), n => $"tomoe routes each token to exactly one expert: set {n(nameof(ExpertsPerToken))} to 1 (was {ExpertsPerToken}).");
        }
        if (SharedExpertCount != 0)
        {
            throw Invalid(nameof(SharedExperts), n => $"tomoe has no shared experts; leave {n(nameof(SharedExperts))} unset.");
        }
        if (Budget is { } budget && (double.IsNaN(budget) || budget <= 0 || budget > 1))
        {
            throw Invalid(nameof(Budget), n => $"{n(nameof(Budget))} must be in (0, 1], the share of FFN parameters a token uses, was {budget.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    private static ConversionOptionException Invalid(string option, Func<Func<string, string>, string> message) => new(option, message);

    /// <summary>Every setting, as recorded in the artifact's manifest, plus the recipe's own (learning rates, loss weights).</summary>
    public IReadOnlyDictionary<string, string> Describe(IReadOnlyDictionary<string, string>? recipe = null)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["experts"] = Experts.ToString(CultureInfo.InvariantCulture),
            // The manifest's key stays "topK": artifacts written before the rename read the same.
            ["topK"] = ExpertsPerToken.ToString(CultureInfo.InvariantCulture),
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
        if (TrainsParRouter)
        {
            all["distill"] = Distill ? "true" : "false";
        }
        if (Method == MoEMethod.ToMoE)
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
