using System.CommandLine;

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

    public static Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Model: a folder with config.json + safetensors, a llama2.c .bin checkpoint, or a .moe artifact.",
        Required = true,
    };
}
