using System.Diagnostics;
using MoESdk;
using MoESdk.Evaluation;
using MoESdk.Export;
using MoESdk.Modules;

/// <summary>
/// Peak memory of a GGUF or Hugging Face export: synthetic weights of a shape (as <c>moe bench --shape</c>), then the
/// dense model and its 8-expert conversion written out, with the process's resident set before and its peak during
/// each export, so the extra memory the export takes (its temporaries) is measured against the model's own size.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- export [shape=1b] [dtype=f16] [folder=/tmp] [format=gguf|hf]
/// </summary>
internal static class ExportBenchmark
{
    public static void Run(string[] args)
    {
        string shape = args.Length > 0 ? args[0] : "1b";
        GgufTensorType type = (args.Length > 1 ? args[1] : "f16") switch
        {
            "f32" => GgufTensorType.F32,
            "bf16" => GgufTensorType.BF16,
            "q8_0" => GgufTensorType.Q8_0,
            _ => GgufTensorType.F16,
        };
        string folder = Path.Combine(args.Length > 2 ? args[2] : Path.GetTempPath(), $"moe-export-bench-{Environment.ProcessId}");
        bool hf = args.Length > 3 && args[3] == "hf";
        Directory.CreateDirectory(folder);
        try
        {
            using LlamaModel dense = BenchmarkShape.Dense(BenchmarkShape.Config(shape));
            long weightBytes = dense.parameters().Sum(p => p.numel()) * sizeof(float);
            Console.WriteLine($"shape {shape}: {weightBytes / 1e9:F2} GB of float32 weights; export as {(hf ? "hf" : "gguf")} {type}");
            Console.WriteLine($"{"model",-8}{"RSS before MB",15}{"peak during MB",16}{"extra MB",10}{"file MB",9}{"seconds",9}");
            Measure("dense", new LanguageModel(dense, null, folder), type, folder, hf);
            using LlamaModel moe = BenchmarkShape.Mixture(dense, experts: 8, topK: 2);
            Measure("moe 8/2", new LanguageModel(moe, null, folder), type, folder, hf);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Measure(string name, LanguageModel model, GgufTensorType type, string folder, bool hf)
    {
        string path = Path.Combine(folder, $"{name.Replace(' ', '-').Replace('/', '-')}{(hf ? "" : ".gguf")}");
        long before = ProcessMemory.Resident;
        ProcessMemory.ResetPeak();
        var clock = Stopwatch.StartNew();
        if (hf)
        {
            HuggingFaceExporter.Export(model, path, type == GgufTensorType.BF16 ? TorchSharp.torch.ScalarType.BFloat16
                : type == GgufTensorType.F16 ? TorchSharp.torch.ScalarType.Float16 : TorchSharp.torch.ScalarType.Float32);
        }
        else
        {
            GgufExporter.Export(model, path, type);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        long peak = ProcessMemory.Peak;
        long bytes = hf ? Directory.EnumerateFiles(path).Sum(f => new FileInfo(f).Length) : new FileInfo(path).Length;
        Console.WriteLine($"{name,-8}{before >> 20,15}{peak >> 20,16}{(peak - before) >> 20,10}{bytes >> 20,9}{seconds,9:F1}");
        if (hf)
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }
}
