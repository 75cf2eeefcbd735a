using System.Diagnostics;
using MoESdk;
using MoESdk.Inference;
using MoESdk.Evaluation;
using MoESdk.Inference.Decoding;
using MoESdk.Modules;
using static TorchSharp.torch;

/// <summary>
/// Decode steps of B sequences at once (the batched step continuous batching runs) against B = 1, in one process
/// without HTTP: generated tokens per second of wall clock and per second of process CPU time, per batch size, batch
/// sizes interleaved per repetition, medians reported. On a shared machine the CPU-time rate is the steadier one; run with
/// DOTNET_PROCESSOR_COUNT=1 for a one-thread compute pool, whose CPU time is the decode work alone (no spinning workers).
/// MODEL is an artifact or model folder, or a synthetic shape: 110m, 1b (dense) or 110m-moe, 1b-moe (8 experts, top-2).
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- batch-step MODEL [steps=32] [repetitions=5] [precision=Float32]
/// </summary>
internal static class BatchStepBenchmark
{
    public static void Run(string[] args)
    {
        string artifact = args[0];
        int steps = args.Length > 1 ? int.Parse(args[1]) : 32;
        int repetitions = args.Length > 2 ? int.Parse(args[2]) : 5;
        DecodePrecision precision = args.Length > 3 ? Enum.Parse<DecodePrecision>(args[3], ignoreCase: true) : DecodePrecision.Float32;
        int[] sizes = [1, 2, 4, 8, 16];
        using var inference = inference_mode();
        using LlamaModel model = Model(artifact);
        var rates = sizes.ToDictionary(b => b, _ => new List<double>());
        var cpuRates = sizes.ToDictionary(b => b, _ => new List<double>());
        using var process = Process.GetCurrentProcess();
        var batch = new DecodeBatch(sizes.Max());
        for (int repetition = 0; repetition <= repetitions; repetition++)
        {
            foreach (int size in sizes)
            {
                var sessions = Enumerable.Range(0, size).Select(_ => new InferenceSession(model, 16 + steps, precision: precision)).ToArray();
                try
                {
                    int[] tokens = new int[size];
                    for (int s = 0; s < size; s++)
                    {
                        sessions[s].Feed([1 + s, 7, 30 + s]);
                        tokens[s] = TokenSampler.ArgMax(sessions[s].Logits);
                    }
                    process.Refresh();
                    TimeSpan cpu = process.TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    for (int step = 0; step < steps; step++)
                    {
                        InferenceSession.FeedEach(batch, sessions, tokens);
                        for (int s = 0; s < size; s++)
                        {
                            tokens[s] = TokenSampler.ArgMax(sessions[s].Logits);
                        }
                    }
                    // The first round warms the JIT and the caches; it is not counted.
                    if (repetition > 0)
                    {
                        rates[size].Add(size * steps / clock.Elapsed.TotalSeconds);
                        process.Refresh();
                        cpuRates[size].Add(size * steps / (process.TotalProcessorTime - cpu).TotalSeconds);
                    }
                }
                finally
                {
                    foreach (InferenceSession session in sessions)
                    {
                        session.Dispose();
                    }
                }
            }
        }
        Console.WriteLine($"{artifact}, {precision}, {steps} steps, {repetitions} repetitions, {Environment.ProcessorCount} pool threads (median, min-max)");
        double one = Median(rates[1]), cpuOne = Median(cpuRates[1]);
        foreach (int size in sizes)
        {
            Console.WriteLine($"batch {size,2}: {Median(rates[size]),8:F0} tok/s ({rates[size].Min():F0}-{rates[size].Max():F0}) x{Median(rates[size]) / one:F2}"
                + $"   {Median(cpuRates[size]),8:F0} tok per CPU-s ({cpuRates[size].Min():F0}-{cpuRates[size].Max():F0}) x{Median(cpuRates[size]) / cpuOne:F2}");
        }
    }

    private static LlamaModel Model(string name)
    {
        string shape = name.Replace("-moe", "", StringComparison.Ordinal);
        if (!BenchmarkShape.Names.Contains(shape))
        {
            LanguageModel language = LanguageModel.Open(Path.GetFullPath(name));
            return language.Model;
        }
        LlamaModel dense = BenchmarkShape.Dense(BenchmarkShape.Config(shape));
        if (shape == name)
        {
            return dense;
        }
        // The dense model stays alive with the process: the mixture shares its attention.
        return BenchmarkShape.Mixture(dense, experts: 8, topK: 2);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
