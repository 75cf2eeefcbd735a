using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

/// <summary>
/// One float32 product for 1, 2, 4 and 8 inputs at once (the batched decode step's matrix × several vectors), weights
/// rotating through copies larger than the last-level cache as in a real step, against the single-input kernel; counts
/// interleaved per repetition, medians of 31. The time of 8 inputs over 1 is what a serving step of 8 sequences pays.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- multivec ROWS COLS [MiB of copies=256]
/// </summary>
internal static unsafe class MultiVecBenchmark
{
    private static readonly int[] Counts = [1, 2, 4, 8];

    public static void Run(string[] args)
    {
        int rows = int.Parse(args[0]), cols = int.Parse(args[1]);
        long bytes = (long)rows * cols * sizeof(float);
        int copies = (int)Math.Max(1, ((args.Length > 2 ? long.Parse(args[2]) : 256L) << 20) / bytes);
        using var pool = new ComputePool(Environment.ProcessorCount);
        Tensor[] weights = [.. Enumerable.Range(0, copies).Select(_ => randn(rows, cols))];
        FloatMatrix[] matrices = [.. weights.Select(TensorMemory.Matrix)];
        int max = Counts.Max();
        float[] xs = [.. Enumerable.Range(0, max * cols).Select(i => MathF.Sin(i))];
        float[] ys = new float[max * rows], paired = new float[max * cols];
        nint[] xRows = new nint[max], yRows = new nint[max];
        RowInput[] inputs = new RowInput[max];
        int next = 0;
        fixed (float* x = xs, y = ys, p = paired)
        fixed (nint* xa = xRows, ya = yRows)
        fixed (RowInput* input = inputs)
        {
            for (int s = 0; s < max; s++)
            {
                xa[s] = (nint)(x + ((nint)s * cols));
                ya[s] = (nint)(y + ((nint)s * rows));
            }
            float** xq = (float**)xa, yq = (float**)ya;
            float* pp = p;
            RowInput* ip = input;
            var calls = new List<Action> { () => MatVec.Multiply(pool, matrices[next = (next + 1) % copies], xs.AsSpan(0, cols), ys.AsSpan(0, rows)) };
            calls.AddRange(Counts.Select(count => (Action)(() =>
            {
                WeightMatrix m = matrices[next = (next + 1) % copies];
                MultiVec.Inputs(m, xq, count, pp, cols, ip);
                MultiVec.Multiply(pool, m, ip, yq, count);
            })));
            double[] medians = Timing.Medians([.. calls], 31);
            Console.WriteLine($"{rows}x{cols} float32, {copies} copies: one input {medians[0]:F1} µs ({bytes / medians[0] / 1e3:F1} GB/s); "
                + string.Join(", ", Counts.Select((count, i) => $"{count} inputs {medians[i + 1]:F1} µs ({medians[i + 1] / medians[0]:F2}× the time)")));
        }
        foreach (Tensor w in weights)
        {
            w.Dispose();
        }
    }
}
