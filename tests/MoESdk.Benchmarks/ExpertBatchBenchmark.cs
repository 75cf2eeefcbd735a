using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

/// <summary>
/// One token through a fine-grained Mixture-of-Experts FFN (k of E experts, each FFN/E neurons wide, chosen at random)
/// against the dense FFN it came from, a dense SwiGLU of the same active width, and k experts whose gate and up rows lie
/// next to each other in memory (rows of one tensor, as if the router always chose experts 0..k-1); float32 on the decode
/// kernels, layers rotating through copies larger than the last-level cache; calls interleaved per repetition, medians
/// of 31. GB/s over the full FFN's is the share of the ideal (byte) ratio the layer keeps.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- experts [E=64] [k=16] [dim=768] [ffn=2048] [MiB=256]
/// </summary>
internal static class ExpertBatchBenchmark
{
    public static void Run(string[] args)
    {
        int experts = Arg(args, 0, 64), k = Arg(args, 1, 16), dim = Arg(args, 2, 768), ffn = Arg(args, 3, 2048);
        long budget = (long)Arg(args, 4, 256) << 20;
        int hidden = ffn / experts, active = hidden * k;
        long layerBytes = 3L * ffn * dim * sizeof(float);
        int layers = (int)Math.Max(2, budget / layerBytes);
        using var pool = new ComputePool(Environment.ProcessorCount);
        manual_seed(1);
        var tensors = new List<Tensor>();
        SwiGluWeights Expert(int width)
        {
            Tensor g = randn(width, dim), u = randn(width, dim), d = randn(dim, width);
            tensors.AddRange([g, u, d]);
            return new SwiGluWeights(TensorMemory.Matrix(g), TensorMemory.Matrix(u), TensorMemory.Matrix(d));
        }
        SwiGluWeights[][] moe = [.. Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, experts).Select(_ => Expert(hidden)).ToArray())];
        SwiGluWeights[] full = [.. Enumerable.Range(0, layers).Select(_ => Expert(ffn))];
        SwiGluWeights[] narrow = [.. Enumerable.Range(0, layers).Select(_ => Expert(active))];
        var random = new Random(7);
        int[][] choices = [.. Enumerable.Range(0, 97).Select(_ => Enumerable.Range(0, experts).OrderBy(_ => random.Next()).Take(k).ToArray())];
        float[] x = [.. Enumerable.Range(0, dim).Select(i => MathF.Sin(i))];
        float[] y = new float[dim];
        var denseBatch = new ExpertBatch(1, ffn);
        var moeBatch = new ExpertBatch(k, active);
        int layer = 0, token = 0;
        // One token through the chosen experts of a set (a dense FFN is a batch of one expert); allocates nothing.
        void Run(ExpertBatch batch, SwiGluWeights[] set, ReadOnlySpan<int> chosen, float scale)
        {
            batch.Clear();
            foreach (int e in chosen)
            {
                batch.Add(set[e], scale);
            }
            batch.Accumulate(pool, x, y);
        }
        Action Dense(SwiGluWeights[] set) => () => Run(denseBatch, set, [layer = (layer + 1) % layers], 1f);
        Action moeCall = () => Run(moeBatch, moe[layer = (layer + 1) % layers], choices[token = (token + 1) % choices.Length], 0.5f);
        SwiGluWeights[][] views = [.. Enumerable.Range(0, layers).Select(_ =>
        {
            Tensor g = randn(ffn, dim), u = randn(ffn, dim);
            tensors.AddRange([g, u]);
            return Enumerable.Range(0, experts).Select(e =>
            {
                Tensor d = randn(dim, hidden);
                tensors.Add(d);
                return new SwiGluWeights(TensorMemory.Matrix(g.narrow(0, e * hidden, hidden)), TensorMemory.Matrix(u.narrow(0, e * hidden, hidden)), TensorMemory.Matrix(d));
            }).ToArray();
        })];
        int[] firstK = [.. Enumerable.Range(0, k)];
        Action adjacentCall = () => Run(moeBatch, views[layer = (layer + 1) % layers], firstK, 0.5f);
        double[] medians = Timing.Medians([Dense(full), Dense(narrow), moeCall, adjacentCall], 31);
        // Weight bytes a token reads: the full FFN's, then the active width's for the other three.
        double[] bytes = [.. medians.Select((_, i) => 3.0 * (i == 0 ? ffn : active) * dim * sizeof(float))];
        string[] names = [$"dense FFN of {ffn}", $"dense SwiGLU of {active}", $"{k} of {experts} experts", $"{k} adjacent experts"];
        Console.WriteLine($"{layers} layers, {experts} experts of {hidden}, top-{k}, dim {dim}, float32, {pool.Parallelism} threads:");
        double fullRate = bytes[0] / medians[0];
        for (int i = 0; i < medians.Length; i++)
        {
            double rate = bytes[i] / medians[i];
            Console.WriteLine($"  {names[i],-26}{medians[i],8:F1} µs {rate / 1e3,6:F1} GB/s  {rate / fullRate:F3} of the full FFN's");
        }
        foreach (Tensor t in tensors)
        {
            t.Dispose();
        }
    }

    private static int Arg(string[] args, int i, int fallback) => args.Length > i ? int.Parse(args[i]) : fallback;
}
