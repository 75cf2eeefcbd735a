using System.CommandLine;
using System.Diagnostics;
using MoESdk.Export;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe export</c>: write a dense model or a .moe artifact in a format other engines load (GGUF for llama.cpp, Ollama, LM Studio).</summary>
public static class ExportCommand
{
    private static readonly Option<string> Format = new("--format")
    {
        Description = "Output format: gguf (llama.cpp, Ollama, LM Studio).",
        Required = true,
    };

    private static readonly Option<string> Out = new("--out", "-o")
    {
        Description = "Output file; it must not exist yet. Written to a temporary file and renamed when complete.",
        Required = true,
    };

    private static readonly Option<string> DType = new("--dtype")
    {
        Description = "Type of the weight matrices: f32, f16, bf16 or q8_0 (norms, biases and routers stay f32).",
        DefaultValueFactory = _ => "f32",
    };

    public static Command Create()
    {
        var command = new Command("export", "Export a model or .moe artifact as GGUF, with MoESdk's routing semantics folded into llama.cpp's MoE tensors.")
        {
            CommonOptions.Model,
            Format,
            Out,
            DType,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string model = result.GetValue(CommonOptions.Model)!;
            string format = result.GetValue(Format)!;
            string output = result.GetValue(Out)!;
            if (format != "gguf")
            {
                throw new ArgumentException($"--format '{format}' is not supported; use gguf.");
            }
            GgufTensorType type = result.GetValue(DType) switch
            {
                "f32" => GgufTensorType.F32,
                "f16" => GgufTensorType.F16,
                "bf16" => GgufTensorType.BF16,
                "q8_0" => GgufTensorType.Q8_0,
                var other => throw new ArgumentException($"--dtype '{other}' is not supported; use f32, f16, bf16 or q8_0."),
            };
            if (File.Exists(output) || Directory.Exists(output))
            {
                throw new IOException($"{output} already exists; choose another --out or delete it first.");
            }
            var clock = Stopwatch.StartNew();
            using LanguageModel loaded = LanguageModel.Open(model);
            GgufExporter.Export(loaded, output, type, cancellationToken);
            var report = new ExportReport(model, Path.GetFullPath(output), format, result.GetValue(DType)!, new FileInfo(output).Length, clock.Elapsed.TotalSeconds);
            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
            }
            else
            {
                Console.Out.WriteLine($"wrote {report.Output} ({report.Bytes:N0} bytes, {report.DType}) in {report.Seconds:F1} s");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The JSON fields of <c>moe export --json</c>.</summary>
    public sealed record ExportReport(string Model, string Output, string Format, string DType, long Bytes, double Seconds);
}
