namespace MoESdk.Cli;

/// <summary>The calibration (or evaluation) text of a conversion is missing or too short.</summary>
public sealed class CalibrationTextException(string message) : IOException(message);
