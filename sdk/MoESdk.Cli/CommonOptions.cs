using System.CommandLine;
using MoESdk.Loading;

namespace MoESdk.Cli;

/// <summary>Options every subcommand accepts.</summary>
public static class CommonOptions
{
    public static Option<bool> Json { get; } = new("--json")
    {
        Description = "Print one JSON object with the results on stdout (progress goes to stderr).",
        Recursive = true,
    };

    public static Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Show stack traces of errors.",
        Recursive = true,
    };

    /// <summary>Errors as <c>error MOE1xxx: message</c> lines, for the MSBuild task that runs the converter.</summary>
    public static Option<bool> MSBuild { get; } = new("--msbuild")
    {
        Description = "Print progress as plain lines and errors in MSBuild's format with their MOE1xxx code.",
        Recursive = true,
        Hidden = true,
    };

    public static Option<bool> TrustWeights { get; } = new("--trust-weights")
    {
        Description = "Skip the scan for NaN and infinite weights when loading (saves one read of the weights; only for files you trust).",
        Recursive = true,
    };

    /// <summary>How the command's models are loaded, from <see cref="TrustWeights"/>.</summary>
    public static LoadOptions LoadOptions(ParseResult result) => new() { TrustWeights = result.GetValue(TrustWeights) };

    public static Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Model: a folder with config.json + safetensors, a llama2.c .bin checkpoint, a dense .gguf file, or a .moe artifact.",
        Required = true,
    };
}
