using System.Diagnostics;
using MoESdk;
using MoESdk.Evaluation;
using MoESdk.Inference;
using MoESdk.Loading;
using static TorchSharp.torch;

/// <summary>
/// A model held in bfloat16 or int8 against the same file loaded as float32: resident memory over the file's bytes, and
/// decode speed. `write` makes a bfloat16 Hugging Face folder of a benchmark shape (random weights); `run` loads it in
/// one precision in this process (run each precision in its own process: resident memory is the process's);
/// `compare` loads it in every precision in one process and alternates their decode steps, so the speed ratio is fair on a
/// shared machine.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- held write [shape=1b] DIR [TOKENIZER_MODEL_DIR]
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- held run DIR f32|bf16|int8|int4 [tokens=16 [map]]
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- held compare DIR [tokens=32 [f32,bf16,int8,int4]]
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- held mapped DIR      (bfloat16 copied against mapped)
/// </summary>
internal static class HeldPrecisionBenchmark
{
    public static void Run(string[] args)
    {
        if (args is ["write", var shape, var folder])
        {
            Write(BenchmarkShape.Config(shape), folder);
        }
        else if (args is ["write", var servedShape, var servedFolder, var tokenizerModel])
        {
            WriteServable(BenchmarkShape.Config(servedShape), servedFolder, tokenizerModel);
        }
        else if (args is ["run", var model, var precision, .. var rest])
        {
            Measure(model, Held(precision), rest.Length > 0 ? int.Parse(rest[0]) : 16, rest is [_, "map"]);
        }
        else if (args is ["mapped", var mappedFolder])
        {
            CompareMapped(mappedFolder);
        }
        else if (args is ["compare", var compared, .. var more])
        {
            Compare(compared, more.Length > 0 ? int.Parse(more[0]) : 32, more.Length > 1 ? [.. more[1].Split(',').Select(Held)] : AllPrecisions);
        }
        else
        {
            Console.Error.WriteLine("usage: held write SHAPE DIR | held run DIR f32|bf16|int8|int4 [tokens [map]] | held compare DIR [tokens [f32,bf16,...]] | held mapped DIR");
        }
    }

    private static DecodePrecision Held(string name) => name switch
    {
        "f32" => DecodePrecision.Float32,
        "bf16" => DecodePrecision.BFloat16,
        "int8" => DecodePrecision.Int8,
        "int4" => DecodePrecision.Int4,
        _ => throw new ArgumentException($"unknown precision '{name}': f32, bf16, int8 or int4"),
    };

    private static void Write(ModelConfig config, string folder)
    {
        Directory.CreateDirectory(folder);
        using ModelWeights weights = WeightLayout.Random(config, seed: 1);
        SafeTensorsWriter.Write(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName), weights.Tensors, storeAs: ScalarType.BFloat16);
        File.WriteAllText(Path.Combine(folder, HuggingFaceConfig.FileName), HuggingFaceConfig.ToJson(config, "bfloat16"));
        Console.WriteLine($"wrote {folder}: {new FileInfo(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName)).Length / 1e9:F2} GB");
    }

    // The shape's layers with another model's tokenizer, vocabulary and special tokens: a folder the web API serves, for
    // load benchmarks at a realistic size (the text is noise: the weights are random).
    private static void WriteServable(ModelConfig shape, string folder, string tokenizerModel)
    {
        ModelConfig vocabulary = HuggingFaceConfig.Read(Path.Combine(tokenizerModel, HuggingFaceConfig.FileName));
        Write(shape with { VocabSize = vocabulary.VocabSize, BosTokenId = vocabulary.BosTokenId, EosTokenIds = vocabulary.EosTokenIds }, folder);
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json" })
        {
            if (File.Exists(Path.Combine(tokenizerModel, file)))
            {
                File.Copy(Path.Combine(tokenizerModel, file), Path.Combine(folder, file), overwrite: true);
            }
        }
    }

    private static void Measure(string folder, DecodePrecision held, int tokens, bool map)
    {
        // libtorch and the runtime are loaded before the baseline is taken.
        using (Tensor warm = ones(4))
        {
            _ = warm.sum().item<float>();
        }
        long fileBytes = new FileInfo(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName)).Length;
        long before = ProcessMemory.Resident;
        ProcessMemory.ResetPeak();
        var clock = Stopwatch.StartNew();
        using LanguageModel model = LanguageModel.Open(folder, new LoadOptions { Precision = held, TrustWeights = true, MapWeights = map });
        double loadSeconds = clock.Elapsed.TotalSeconds;
        long loaded = ProcessMemory.Resident - before, peak = ProcessMemory.Peak - before;

        // Prefill: 64 prompt tokens in the held precision (on the kernels, or TorchSharp's bfloat16 GEMM for a dense bfloat16 model).
        int[] prompt = [.. Enumerable.Range(1, 64)];
        var prefills = new List<double>();
        for (int i = 0; i < 4; i++)
        {
            using var fresh = new InferenceSession(model.Model, 128);
            clock.Restart();
            fresh.Feed(prompt);
            prefills.Add(clock.Elapsed.TotalSeconds);
        }
        double prefill = prefills.Skip(1).Order().ElementAt(1);

        using var session = new InferenceSession(model.Model, tokens + 4);
        int token = 1;
        var times = new List<double>();
        for (int i = 0; i < tokens + 2; i++)
        {
            clock.Restart();
            ReadOnlySpan<float> logits = session.Feed([token]);
            times.Add(clock.Elapsed.TotalSeconds);
            token = TokenSampler.ArgMax(logits);
        }
        double median = times.Skip(2).Order().ElementAt(tokens / 2);
        Console.WriteLine($"held in {held}: file {fileBytes / 1e9:F2} GB, resident after load {loaded / 1e9:F2} GB ({(double)loaded / fileBytes:F2}× the file), "
            + $"peak during load {peak / 1e9:F2} GB ({(double)peak / fileBytes:F2}×), load {loadSeconds:F1} s, prefill {64 / prefill:F1} tok/s (64 tokens, median of 3), "
            + $"decode {session.Precision} {1 / median:F2} tok/s (median of {tokens}), resident after decode {(ProcessMemory.Resident - before) / 1e9:F2} GB");
    }

    // The same bfloat16 folder copied and mapped (LoadOptions.MapWeights) in one process, decode steps alternated.
    private static void CompareMapped(string folder)
    {
        using LanguageModel copied = LanguageModel.Open(folder, new LoadOptions { Precision = DecodePrecision.BFloat16, TrustWeights = true });
        using LanguageModel mapped = LanguageModel.Open(folder, new LoadOptions { Precision = DecodePrecision.BFloat16, TrustWeights = true, MapWeights = true });
        var runs = new (string Name, InferenceSession Session)[] { ("copied", new InferenceSession(copied.Model, 130)), ("mapped", new InferenceSession(mapped.Model, 130)) };
        var times = runs.Select(_ => new List<double>()).ToArray();
        int[] next = [.. runs.Select(_ => 1)];
        var clock = new Stopwatch();
        for (int i = 0; i < 82; i++)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                clock.Restart();
                next[r] = TokenSampler.ArgMax(runs[r].Session.Feed([next[r]]));
                times[r].Add(clock.Elapsed.TotalSeconds);
            }
        }
        double[] medians = [.. times.Select(t => t.Skip(2).Order().ElementAt(40))];
        double[] ratios = [.. runs.Select((_, r) => Enumerable.Range(2, 80).Select(i => times[0][i] / times[r][i]).Order().ElementAt(40))];
        Console.WriteLine("decode held in bfloat16, steps alternated (median of 80): "
            + string.Join(", ", runs.Select((run, r) => $"{run.Name} {1 / medians[r]:F2} tok/s (per round {ratios[r]:F2}×)")));
    }

    private static readonly DecodePrecision[] AllPrecisions = [DecodePrecision.Float32, DecodePrecision.BFloat16, DecodePrecision.Int8, DecodePrecision.Int4];

    // The first precision is the baseline every ratio is taken against.
    private static void Compare(string folder, int tokens, DecodePrecision[] precisions)
    {
        LanguageModel[] models = [.. precisions.Select(p => LanguageModel.Open(folder, new LoadOptions { Precision = p, TrustWeights = true }))];
        (string Name, InferenceSession Session)[] runs =
            [.. precisions.Select((p, r) => (p == DecodePrecision.Float32 ? "float32" : $"held in {p}", new InferenceSession(models[r].Model, tokens + 4)))];
        // Prefill of 64 tokens, alternated the same way (fresh sessions, median of 11 after one warm-up round).
        int[] prompt = [.. Enumerable.Range(1, 64)];
        var prefills = runs.Select(_ => new List<double>()).ToArray();
        var clock = new Stopwatch();
        for (int round = 0; round < 12; round++)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                using var fresh = new InferenceSession(models[r].Model, 128);
                clock.Restart();
                fresh.Feed(prompt);
                if (round > 0)
                {
                    prefills[r].Add(clock.Elapsed.TotalSeconds);
                }
            }
        }
        double[] prefillMedians = [.. prefills.Select(t => t.Order().ElementAt(t.Count / 2))];
        Console.WriteLine("prefill, 64 tokens, alternated (median of 11): "
            + string.Join(", ", runs.Select((run, r) => $"{run.Name} {64 / prefillMedians[r]:F1} tok/s ({prefillMedians[0] / prefillMedians[r]:F2}×)")));

        var times = runs.Select(_ => new List<double>()).ToArray();
        int[] next = [.. runs.Select(_ => 1)];
        for (int i = 0; i < tokens + 2; i++)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                clock.Restart();
                next[r] = TokenSampler.ArgMax(runs[r].Session.Feed([next[r]]));
                times[r].Add(clock.Elapsed.TotalSeconds);
            }
        }
        double[] medians = [.. times.Select(t => t.Skip(2).Order().ElementAt(tokens / 2))];
        // Each round's precisions ran within a fraction of a second of each other: the median of the per-round ratios is
        // the least disturbed by the machine's speed drifting over the run.
        double[] perRound = [.. runs.Select((_, r) => Enumerable.Range(2, tokens).Select(i => times[0][i] / times[r][i]).Order().ElementAt(tokens / 2))];
        Console.WriteLine($"decode, steps alternated (median of {tokens}): "
            + string.Join(", ", runs.Select((run, r) => $"{run.Name} {1 / medians[r]:F2} tok/s ({medians[0] / medians[r]:F2}×, per round {perRound[r]:F2}×)")));
        foreach ((_, InferenceSession session) in runs)
        {
            session.Dispose();
        }
        foreach (LanguageModel model in models)
        {
            model.Dispose();
        }
    }
}
