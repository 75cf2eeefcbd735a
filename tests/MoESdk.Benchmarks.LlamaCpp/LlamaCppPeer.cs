using System.Diagnostics;
using System.Reflection;
using LLama;
using LLama.Common;
using LLama.Native;

namespace MoESdk.Benchmarks.LlamaCpp;

/// <summary>
/// llama.cpp measured the way MoESdk measures itself (<c>SpeedBenchmark</c>): a prefill of the prompt, then a batch-1
/// decode that feeds back the argmax, each run on a fresh context, in rounds interleaved with MoESdk's models by the
/// caller. <c>moe bench --peer llamacpp</c> binds these methods by name from its own load context: their signatures, BCL
/// types only, are the whole contract, so the tool ships without LLamaSharp and shares no types with this assembly.
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
    /// Loads the GGUF file at <paramref name="ggufPath"/> for runs of up to <paramref name="contextTokens"/> positions
    /// with prompts of up to <paramref name="batchTokens"/>, on <paramref name="threads"/> CPU threads.
    /// </summary>
    public static IDisposable Open(string ggufPath, int threads, int contextTokens, int batchTokens)
    {
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextTokens,
            BatchSize = (uint)batchTokens,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
        };
        return new Session(LLamaWeights.LoadFromFile(parameters), parameters);
    }

    /// <summary>
    /// Seconds to prefill <paramref name="prompt"/> and to decode <paramref name="decodeTokens"/> tokens one at a time on
    /// a fresh context of a session from <see cref="Open"/>.
    /// </summary>
    public static (double PrefillSeconds, double DecodeSeconds) Run(IDisposable session, int[] prompt, int decodeTokens)
    {
        var opened = (Session)session;
        // A context per run, outside the clock: every run starts from an empty cache, as MoESdk's sessions are reset.
        using LLamaContext context = opened.Weights.CreateContext(opened.Parameters);
        var clock = Stopwatch.StartNew();
        int next = LlamaCppSteps.ArgMax(LlamaCppSteps.Feed(context, prompt, 0));
        double prefillSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        for (int t = 0; t < decodeTokens; t++)
        {
            next = LlamaCppSteps.ArgMax(LlamaCppSteps.Feed(context, [next], prompt.Length + t));
        }
        return (prefillSeconds, clock.Elapsed.TotalSeconds);
    }

    private sealed class Session(LLamaWeights weights, ModelParams parameters) : IDisposable
    {
        public LLamaWeights Weights { get; } = weights;

        public ModelParams Parameters { get; } = parameters;

        public void Dispose() => Weights.Dispose();
    }
}
