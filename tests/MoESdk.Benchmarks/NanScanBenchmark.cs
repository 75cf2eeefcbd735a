using System.Diagnostics;
using MoESdk.Evaluation;
using MoESdk.Loading;
using static TorchSharp.torch;

/// <summary>
/// What the load-time scan for NaN and infinite weights costs on a model shape (default 1b, TinyLlama 1.1B):
/// every tensor of the shape is made one at a time (so the whole model never sits in memory), then scanned and,
/// for scale, copied once (a load copies each weight out of the mapped file at least once). Medians of 5.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- nan-scan [1b|110m]
/// </summary>
internal static class NanScanBenchmark
{
    private const int Repetitions = 5;

    public static void Run(string[] args)
    {
        ModelConfig config = BenchmarkShape.Config(args.Length > 0 ? args[0] : "1b");
        double scanSeconds = 0, copySeconds = 0;
        long bytes = 0;
        foreach ((string name, long[] shape) in WeightLayout.Expected(config))
        {
            using Tensor weight = randn(shape);
            bytes += weight.numel() * sizeof(float);
            scanSeconds += Median(() => FiniteWeights.Check(weight, "benchmark", name));
            copySeconds += Median(() => weight.clone().Dispose());
        }
        double gigabytes = bytes / 1e9;
        Console.WriteLine($"{args.ElementAtOrDefault(0) ?? "1b"}: {gigabytes:F2} GB of float32 weights, {Environment.ProcessorCount} processors");
        Console.WriteLine($"scan for NaN/Inf: {scanSeconds:F3} s ({gigabytes / scanSeconds:F1} GB/s)");
        Console.WriteLine($"one copy of every weight: {copySeconds:F3} s ({gigabytes / copySeconds:F1} GB/s)");
    }

    private static double Median(Action action)
    {
        var times = new double[Repetitions];
        for (int i = 0; i < Repetitions; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[Repetitions / 2];
    }
}
