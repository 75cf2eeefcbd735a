namespace MoESdk.Adaptation;

/// <summary>Where an adaptation or fine-tuning run stands.</summary>
/// <param name="Stage">profiling (routing the domain text) or training.</param>
/// <param name="Done">Units of the stage done (windows or steps).</param>
/// <param name="Total">Units of the stage.</param>
/// <param name="Loss">Training loss of the last step, while training.</param>
public sealed record AdaptationProgress(string Stage, int Done, int Total, double? Loss = null);
