using System.Diagnostics;
using System.Reflection;
using LLama;
using LLama.Common;
using LLama.Native;

namespace MoESdk.Benchmarks.LlamaCpp;

/// <summary>
/// llama.cpp measured the way MoESdk measures itself (<c>SpeedBenchmark</c>): one warm-up, then repetitions of a prefill of
/// the prompt and a batch-1 decode that feeds back the argmax, medians. <c>moe bench --peer llamacpp</c> binds these
/// methods by name from its own load context: their signatures, BCL types only, are the whole contract, so the tool ships
/// without LLamaSharp and shares no types with this assembly.
/// </summary>
public static class LlamaCppPeer
{
    static LlamaCppPeer()
    {
        // Before the first native call: llama.cpp's loading log would interleave with the tool's report, and the native
        // libraries lie under this assembly's folder, not the host application's.
        string folder = Path.GetDirectoryName(typeof(LlamaCppPeer).Assembly.Location)!;
        NativeLibraryConfig.All.WithLogCallback((_, _) => { }).WithSearchDirectory(folder);
    }

    /// <summary>The engine's name and version, for reports.</summary>
    public static string Engine() =>
        $"llama.cpp (LLamaSharp {typeof(LlamaCppPeer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LLamaSharpVersion").Value})";

    /// <summary>
    /// Median decode and prefill tokens/s of the GGUF file at <paramref name="ggufPath"/> on <paramref name="threads"/>
    /// CPU threads: <paramref name="prompt"/> in one batch, then <paramref name="decodeTokens"/> tokens one at a time.
    /// </summary>
    public static (double DecodeTokensPerSecond, double PrefillTokensPerSecond) Measure(
        string ggufPath, int threads, int[] prompt, int decodeTokens, int repetitions, CancellationToken cancellationToken)
    {
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)(prompt.Length + decodeTokens + 8),
            BatchSize = (uint)prompt.Length,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
        };
        using LLamaWeights weights = LLamaWeights.LoadFromFile(parameters);
        var decode = new List<double>();
        var prefill = new List<double>();
        // Repetition 0 is warm-up and not counted.
        for (int rep = 0; rep <= repetitions; rep++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using LLamaContext context = weights.CreateContext(parameters);
            var clock = Stopwatch.StartNew();
            int next = ArgMax(Feed(context, prompt, 0));
            double prefillSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (int t = 0; t < decodeTokens; t++)
            {
                next = ArgMax(Feed(context, [next], prompt.Length + t));
            }
            double decodeSeconds = clock.Elapsed.TotalSeconds;
            if (rep > 0)
            {
                prefill.Add(prompt.Length / prefillSeconds);
                decode.Add(decodeTokens / decodeSeconds);
            }
        }
        return (Median(decode), Median(prefill));
    }

    private static ReadOnlySpan<float> Feed(LLamaContext context, IReadOnlyList<int> tokens, int start)
    {
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++)
        {
            batch.Add(tokens[i], start + i, LLamaSeqId.Zero, i == tokens.Count - 1);
        }
        DecodeResult result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp decode failed: {result}");
        }
        return context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
