using System.Diagnostics;
using MoESdk;
using MoESdk.Inference;
using MoESdk.Inference.Decoding;
using static TorchSharp.torch;

/// <summary>
/// Decode steps of B sequences at once (the batched step continuous batching runs) against B = 1, in one process
/// without HTTP: generated tokens/s per batch size, batch sizes interleaved per repetition, medians reported.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- batch-step ARTIFACT [steps=32] [repetitions=5] [precision=Float32]
/// </summary>
internal static class BatchStepBenchmark
{
    public static void Run(string[] args)
    {
        string artifact = Path.GetFullPath(args[0]);
        int steps = args.Length > 1 ? int.Parse(args[1]) : 32;
        int repetitions = args.Length > 2 ? int.Parse(args[2]) : 5;
        DecodePrecision precision = args.Length > 3 ? Enum.Parse<DecodePrecision>(args[3], ignoreCase: true) : DecodePrecision.Float32;
        int[] sizes = [1, 2, 4, 8, 16];
        using LanguageModel model = LanguageModel.Open(artifact);
        using var inference = inference_mode();
        var rates = sizes.ToDictionary(b => b, _ => new List<double>());
        var batch = new DecodeBatch(sizes.Max());
        for (int repetition = 0; repetition <= repetitions; repetition++)
        {
            foreach (int size in sizes)
            {
                var sessions = Enumerable.Range(0, size).Select(_ => new InferenceSession(model.Model, 16 + steps, precision: precision)).ToArray();
                try
                {
                    int[] tokens = new int[size];
                    for (int s = 0; s < size; s++)
                    {
                        sessions[s].Feed([1 + s, 7, 30 + s]);
                        tokens[s] = TokenSampler.ArgMax(sessions[s].Logits);
                    }
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
        Console.WriteLine($"{artifact}, {precision}, {steps} steps, {repetitions} repetitions (median, min-max)");
        double one = Median(rates[1]);
        foreach (int size in sizes)
        {
            Console.WriteLine($"batch {size,2}: {Median(rates[size]),8:F0} tok/s ({rates[size].Min():F0}-{rates[size].Max():F0})  x{Median(rates[size]) / one:F2}");
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
