namespace MoESdk.Conversion;

/// <summary>A conversion's stage and how far it is, for progress bars.</summary>
/// <param name="Stage">calibrating, partitioning, training.</param>
/// <param name="Done">Units of the stage done.</param>
/// <param name="Total">Units of the stage.</param>
/// <param name="Detail">Optional detail such as the current loss.</param>
public sealed record ConversionProgress(string Stage, int Done, int Total, string? Detail = null);
