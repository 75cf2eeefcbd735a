namespace MoESdk.Adaptation;

/// <summary>How <see cref="ExpertAdapter"/> adapts a Mixture-of-Experts model to a domain.</summary>
public sealed record AdaptationOptions : FineTuningOptions
{
    /// <summary>Which experts to fine-tune: chosen from the domain's routing (default) or listed.</summary>
    public ExpertSelection Experts { get; init; } = ExpertSelection.Auto();

    /// <summary>Also fine-tune the routers of the layers whose experts are adapted, so routing can follow the new experts.</summary>
    public bool TrainRouters { get; init; } = true;

    /// <summary>Windows of the domain text routed to measure each expert's share before training.</summary>
    public int ProfileWindows { get; init; } = 64;

    public override void Validate()
    {
        base.Validate();
        Require(ProfileWindows > 0, $"Profile windows must be positive, was {ProfileWindows}.");
    }
}
