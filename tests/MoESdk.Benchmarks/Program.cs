using System.Diagnostics;
using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

// Decode matrix-vector throughput on the 110M LLaMA shape (dim 768, FFN 2048, 12 layers, vocab 32000):
// torch.mv against the MoESdk kernels on one and two threads, float32 and bfloat16. Every timing is the
// median of several repetitions, methods interleaved per repetition, so ratios within one run are fair on a
// shared machine. Weights rotate through copies larger than the last-level cache, as in a real decode step.

if (args is ["export", .. var exportArgs])
{
    ExportBenchmark.Run(exportArgs);
    return;
}

if (args is ["peer", .. var peerArgs])
{
    PeerBenchmark.Run(peerArgs);
    return;
}

if (args is ["tokenize", .. var tokenizeArgs])
{
    TokenizeBenchmark.Run(tokenizeArgs);
    return;
}

if (args is ["nan-scan", .. var scanArgs])
{
    NanScanBenchmark.Run(scanArgs);
    return;
}

if (args is ["batch-step", .. var batchArgs])
{
    BatchStepBenchmark.Run(batchArgs);
    return;
}

if (args is ["multivec", .. var multiVecArgs])
{
    MultiVecBenchmark.Run(multiVecArgs);
    return;
}

if (args is ["experts", .. var expertArgs])
{
    ExpertBatchBenchmark.Run(expertArgs);
    return;
}

if (args is ["prune", .. var pruneArgs])
{
    PruningBaseline.Run(pruneArgs);
    return;
}

if (args is ["held", .. var heldArgs])
{
    HeldPrecisionBenchmark.Run(heldArgs);
    return;
}

if (args is ["transformers", .. var transformersArgs])
{
    TransformersCases.Run(transformersArgs);
    return;
}

if (args is ["load", .. var loadArgs])
{
    await LoadBenchmark.RunAsync(loadArgs);
    return;
}

long StreamBytes = (args.Length > 0 ? long.Parse(args[0]) : 256L) << 20;
const int Repetitions = 9;

using var single = new ComputePool(1);
using var pool = new ComputePool(Environment.ProcessorCount);
manual_seed(1);
Console.WriteLine($"{Environment.ProcessorCount} processors, Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, torch threads: {get_num_threads()}");
Console.WriteLine();
Console.WriteLine($"{"shape",-12}{"method",-22}{"µs/call",10}{"GB/s",8}");

foreach ((int rows, int cols) in new[] { (768, 768), (2048, 768), (768, 2048), (32000, 768) })
{
    long bytes = (long)rows * cols * sizeof(float);
    int copies = (int)Math.Max(1, StreamBytes / bytes);
    Tensor[] weights = Enumerable.Range(0, copies).Select(_ => randn(rows, cols)).ToArray();
    FloatMatrix[] matrices = weights.Select(TensorMemory.Matrix).ToArray();
    BFloat16Weights[] halves = weights.Select(BFloat16Weights.FromTensor).ToArray();
    using Tensor xTensor = randn(cols);
    float[] x = xTensor.data<float>().ToArray();
    float[] y = new float[rows];
    int next = 0;
    int Next() => next = (next + 1) % copies;

    var methods = new (string Name, long Bytes, Action Call)[]
    {
        ("torch.mv", bytes, () => mv(weights[Next()], xTensor).Dispose()),
        ("kernel, 1 thread", bytes, () => MatVec.Multiply(single, matrices[Next()], x, y)),
        ($"kernel, {pool.Parallelism} threads", bytes, () => MatVec.Multiply(pool, matrices[Next()], x, y)),
        ("bf16, 1 thread", bytes / 2, () => MatVec.Multiply(single, halves[Next()].Matrix, x, y)),
        ($"bf16, {pool.Parallelism} threads", bytes / 2, () => MatVec.Multiply(pool, halves[Next()].Matrix, x, y)),
    };
    double[] medians = Timing.Medians(methods.Select(m => m.Call).ToArray(), Repetitions);
    for (int i = 0; i < methods.Length; i++)
    {
        Console.WriteLine($"{$"{rows}x{cols}",-12}{methods[i].Name,-22}{medians[i],10:F1}{methods[i].Bytes / medians[i] / 1e3,8:F1}");
    }

    foreach (Tensor w in weights)
    {
        w.Dispose();
    }
    foreach (BFloat16Weights h in halves)
    {
        h.Dispose();
    }
}

Console.WriteLine();
using var step = new DecodeStepWeights(layers: 12, dim: 768, hidden: 2048, vocab: 32000);
var steps = new (string Name, long Bytes, Action Call)[]
{
    ("torch.mv", step.Bytes, step.Torch),
    ("kernel, 1 thread", step.Bytes, () => step.Kernels(single)),
    ($"kernel, {pool.Parallelism} threads", step.Bytes, () => step.Kernels(pool)),
    ($"fused, {pool.Parallelism} threads", step.Bytes, () => step.Fused(pool)),
    ($"bf16, {pool.Parallelism} threads", step.Bytes / 2, () => step.BFloat16(pool)),
};
double[] stepMedians = Timing.Medians(steps.Select(s => s.Call).ToArray(), Repetitions);
Console.WriteLine($"decode step: 12 x (q,k,v,o,gate,up,down) + head, {step.Bytes / 1e6:F0} MB float32");
Console.WriteLine($"{"method",-22}{"ms/step",10}{"GB/s",8}{"tok/s bound",13}{"vs torch",10}");
for (int i = 0; i < steps.Length; i++)
{
    Console.WriteLine($"{steps[i].Name,-22}{stepMedians[i] / 1e3,10:F2}{steps[i].Bytes / stepMedians[i] / 1e3,8:F1}{1e6 / stepMedians[i],13:F0}{stepMedians[0] / stepMedians[i],10:F2}");
}

/// <summary>Median microseconds per call, methods interleaved within each repetition.</summary>
internal static class Timing
{
    public static double[] Medians(Action[] calls, int repetitions)
    {
        var samples = new double[calls.Length][];
        int[] iterations = new int[calls.Length];
        for (int m = 0; m < calls.Length; m++)
        {
            samples[m] = new double[repetitions];
            // Warm up (JIT, page faults) and size each repetition to about 50 ms.
            double once = Time(calls[m], 3);
            iterations[m] = Math.Max(3, (int)(50_000 / once));
        }
        for (int r = 0; r < repetitions; r++)
        {
            for (int m = 0; m < calls.Length; m++)
            {
                samples[m][r] = Time(calls[m], iterations[m]);
            }
        }
        return samples.Select(s => s.Order().ElementAt(s.Length / 2)).ToArray();
    }

    private static double Time(Action call, int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            call();
        }
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / iterations;
    }
}
