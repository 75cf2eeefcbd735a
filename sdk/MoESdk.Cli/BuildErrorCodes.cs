using MoESdk.Loading;

namespace MoESdk.Cli;

/// <summary>
/// The MOE1xxx codes of the MSBuild integration (msbuild/MoESdk.Build/README.md). With <c>--msbuild</c> a user
/// error is printed as <c>error MOE1004: message</c>, so the build task reports it under the code that says
/// what to fix rather than as a crash of the converter.
/// </summary>
public static class BuildErrorCodes
{
    /// <summary>Not a supported model: no config.json, an unsupported architecture, no tokenizer.</summary>
    public const string UnsupportedModel = "MOE1002";

    /// <summary>Experts, top-k or method do not fit the model (e.g. the FFN width does not divide into the experts).</summary>
    public const string InvalidSettings = "MOE1003";

    /// <summary>The weights file is truncated, corrupt or lacks tensors.</summary>
    public const string CorruptWeights = "MOE1004";

    /// <summary>The calibration text is missing or too short.</summary>
    public const string CalibrationText = "MOE1005";

    /// <summary>Anything else that stopped the conversion.</summary>
    public const string ConversionFailed = "MOE1006";

    private static readonly string[] WeightFileExtensions = [".safetensors", ".bin", ".pt"];

    /// <summary>The code for a user error the converter reports.</summary>
    public static string For(Exception error) => error switch
    {
        ModelFormatException format when WeightFileExtensions.Contains(Path.GetExtension(format.Path), StringComparer.OrdinalIgnoreCase) => CorruptWeights,
        ModelFormatException => UnsupportedModel,
        CalibrationTextException => CalibrationText,
        ArgumentException => InvalidSettings,
        _ => ConversionFailed,
    };
}
