using MoESdk;
using MoESdk.Benchmarks.LlamaCpp;
using MoESdk.Evaluation;
using MoESdk.Export;
using MoESdk.Inference;
using MoESdk.Modules;

/// <summary>
/// MoESdk against llama.cpp (LLamaSharp, in this process) on the same weights: synthetic weights of a shape (as
/// <c>moe bench --shape</c>), dense and converted to 8 experts top-2, each exported to GGUF in the precision llama.cpp
/// runs (f32, bf16, q8_0, q4_0) and decoded by MoESdk's kernels in the matching one (f32, bf16, int8, int4). Prefill of
/// 64 tokens, then 64 tokens decoded one at a time (argmax fed back), the engines' runs alternated, medians of the
/// repetitions, both engines on the same threads. The last argument picks precisions by name (e.g. int4/q4_0), all by default.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- peer [shape=110m] [repetitions=5] [threads=2] [f32,bf16,int8/q8_0,int4/q4_0]
/// </summary>
internal static class PeerBenchmark
{
    private const int PromptTokens = 64;
    private const int DecodeTokens = 64;

    private static readonly (string Name, DecodePrecision Ours, GgufTensorType Theirs)[] Precisions =
    [
        ("f32", DecodePrecision.Float32, GgufTensorType.F32),
        ("bf16", DecodePrecision.BFloat16, GgufTensorType.BF16),
        ("int8/q8_0", DecodePrecision.Int8, GgufTensorType.Q8_0),
        ("int4/q4_0", DecodePrecision.Int4, GgufTensorType.Q4_0),
    ];

    public static void Run(string[] args)
    {
        string shape = args.Length > 0 ? args[0] : "110m";
        int repetitions = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
        int threads = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2;
        string[] picked = args.Length > 3 ? args[3].Split(',') : [.. Precisions.Select(p => p.Name)];
        string folder = Directory.CreateTempSubdirectory("moe-peer-bench-").FullName;
        try
        {
            using LlamaModel dense = BenchmarkShape.Dense(BenchmarkShape.Config(shape));
            using LlamaModel moe = BenchmarkShape.Mixture(dense, experts: 8, topK: 2);
            // The same weights held in bfloat16 (LoadOptions.Precision BFloat16): no float32 copy, prefill in bfloat16.
            using LlamaModel heldDense = BenchmarkShape.Dense(BenchmarkShape.Config(shape), held: DecodePrecision.BFloat16);
            using LlamaModel heldMoe = BenchmarkShape.Mixture(heldDense, experts: 8, topK: 2);
            // And held in int8 (LoadOptions.Precision Int8): no float32 copy, prefill in int8. Dense only: experts are not cut from held matrices.
            using LlamaModel int8Dense = BenchmarkShape.Dense(BenchmarkShape.Config(shape), held: DecodePrecision.Int8);
            using LlamaModel int4Dense = BenchmarkShape.Dense(BenchmarkShape.Config(shape), held: DecodePrecision.Int4);
            Console.WriteLine($"shape {shape}, {threads} threads (MoESdk compute pool: {Environment.ProcessorCount} processors), prompt {PromptTokens}, decode {DecodeTokens}, median of {repetitions}");
            Console.WriteLine($"{"model",-10}{"precision",-11}{"engine",-11}{"decode tok/s",14}{"prefill tok/s",15}{"decode ×peer",14}{"prefill ×peer",15}");
            foreach ((string name, DecodePrecision ours, GgufTensorType theirs) in Precisions.Where(p => picked.Contains(p.Name)))
            {
                (string, LlamaModel, LlamaModel?)[] models = ours switch
                {
                    DecodePrecision.BFloat16 => [("dense", dense, heldDense), ("moe 8/2", moe, heldMoe)],
                    DecodePrecision.Int8 => [("dense", dense, int8Dense), ("moe 8/2", moe, null)],
                    DecodePrecision.Int4 => [("dense", dense, int4Dense), ("moe 8/2", moe, null)],
                    _ => [("dense", dense, null), ("moe 8/2", moe, null)],
                };
                foreach ((string modelName, LlamaModel model, LlamaModel? held) in models)
                {
                    string gguf = Path.Combine(folder, $"{modelName.Replace(' ', '-').Replace('/', '-')}-{theirs}.gguf");
                    GgufExporter.Export(new LanguageModel(model, null, folder), gguf, theirs);
                    // llama.cpp, MoESdk and MoESdk held alternate run by run, as moe bench --peer measures them.
                    ISpeedSubject[] subjects =
                    [
                        new PeerSubject(LlamaCppPeer.Open(gguf, threads, PromptTokens + DecodeTokens + 8, PromptTokens)),
                        SpeedBenchmark.Session(model, PromptTokens, DecodeTokens, DecodeBackend.Kernels, ours),
                        .. held is null ? Array.Empty<ISpeedSubject>() : [SpeedBenchmark.Session(held, PromptTokens, DecodeTokens, DecodeBackend.Kernels, ours)],
                    ];
                    IReadOnlyList<SpeedResult> speed;
                    try
                    {
                        speed = SpeedBenchmark.Measure(subjects, SpeedBenchmark.Prompt(PromptTokens, model.Config.VocabSize), DecodeTokens, repetitions);
                    }
                    finally
                    {
                        foreach (ISpeedSubject subject in subjects)
                        {
                            subject.Dispose();
                        }
                    }
                    File.Delete(gguf);
                    Console.WriteLine($"{modelName,-10}{name,-11}{"llama.cpp",-11}{speed[0].DecodeTokensPerSecond,14:F1}{speed[0].PrefillTokensPerSecond,15:F0}");
                    string[] engines = ["MoESdk", "MoESdk held"];
                    for (int e = 1; e < speed.Count; e++)
                    {
                        Console.WriteLine($"{modelName,-10}{name,-11}{engines[e - 1],-11}{speed[e].DecodeTokensPerSecond,14:F1}{speed[e].PrefillTokensPerSecond,15:F0}" +
                            $"{speed[e].DecodeTokensPerSecond / speed[0].DecodeTokensPerSecond,14:F2}{speed[e].PrefillTokensPerSecond / speed[0].PrefillTokensPerSecond,15:F2}");
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A session of the llama.cpp plugin as a subject of <see cref="SpeedBenchmark"/>.</summary>
    private sealed class PeerSubject(IDisposable session) : ISpeedSubject
    {
        public (double PrefillSeconds, double DecodeSeconds) Run(int[] prompt, int decodeTokens) => LlamaCppPeer.Run(session, prompt, decodeTokens);

        public void Dispose() => session.Dispose();
    }
}
