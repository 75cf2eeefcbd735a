using System.CommandLine;
using System.Diagnostics;
using MoESdk.Export;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe export</c>: write a dense model or a .moe artifact in a format other engines load (a Hugging Face folder for
/// transformers and vLLM, GGUF for llama.cpp, Ollama, LM Studio).</summary>
public static class ExportCommand
{
    private static readonly Option<string> Format = new("--format")
    {
        Description = "Output format: hf (a Hugging Face folder for transformers, vLLM, SGLang) or gguf (llama.cpp, Ollama, LM Studio).",
        Required = true,
    };

    private static readonly Option<string> Out = new("--out", "-o")
    {
        Description = "Output file (gguf) or folder (hf); it must not exist yet. Written under a temporary name and renamed when complete.",
        Required = true,
    };

    private static readonly Option<string> DType = new("--dtype")
    {
        Description = "Type of the weights: f32, f16, bf16, or q8_0 / q4_0 (gguf only; q4_0 keeps the token embedding in q8_0). In GGUF, norms, biases and routers stay f32.",
        DefaultValueFactory = _ => "f32",
    };

    public static Command Create()
    {
        var command = new Command("export", "Export a model or .moe artifact as a Hugging Face folder (Mixtral / Qwen2-MoE for MoE) or GGUF, with MoESdk's routing semantics folded into the weights.")
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
            if (format is not ("gguf" or "hf"))
            {
                throw new ArgumentException($"--format '{format}' is not supported; use hf or gguf.");
            }
            GgufTensorType type = result.GetValue(DType) switch
            {
                "f32" => GgufTensorType.F32,
                "f16" => GgufTensorType.F16,
                "bf16" => GgufTensorType.BF16,
                "q8_0" when format == "gguf" => GgufTensorType.Q8_0,
                "q4_0" when format == "gguf" => GgufTensorType.Q4_0,
                "q8_0" or "q4_0" => throw new ArgumentException($"--dtype {result.GetValue(DType)} is a GGUF type; a Hugging Face folder takes f32, f16 or bf16."),
                var other => throw new ArgumentException($"--dtype '{other}' is not supported; use f32, f16, bf16, q8_0 or q4_0."),
            };
            if (File.Exists(output) || Directory.Exists(output))
            {
                throw new IOException($"{output} already exists; choose another --out or delete it first.");
            }
            var clock = Stopwatch.StartNew();
            using LanguageModel loaded = LanguageModel.Open(model);
            long bytes;
            if (format == "hf")
            {
                HuggingFaceExporter.Export(loaded, output, type switch
                {
                    GgufTensorType.F16 => TorchSharp.torch.ScalarType.Float16,
                    GgufTensorType.BF16 => TorchSharp.torch.ScalarType.BFloat16,
                    _ => TorchSharp.torch.ScalarType.Float32,
                }, cancellationToken);
                bytes = Directory.EnumerateFiles(output).Sum(file => new FileInfo(file).Length);
            }
            else
            {
                GgufExporter.Export(loaded, output, type, cancellationToken);
                bytes = new FileInfo(output).Length;
            }
            var report = new ExportReport(model, Path.GetFullPath(output), format, result.GetValue(DType)!, bytes, clock.Elapsed.TotalSeconds);
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
