using LLama;
using LLama.Common;
using LLama.Native;
using MoESdk.Benchmarks.LlamaCpp;

namespace MoESdk.Export.Tests;

/// <summary>
/// A GGUF file run by llama.cpp in-process (LLamaSharp): the independent implementation exported models are
/// compared with. Keys and values are cached in float32 and flash attention is off (its CPU kernel rounds to
/// float16, ~1e-2 on logits), so the comparison sees the exported weights' type and nothing else.
/// </summary>
internal sealed class LlamaCppModel : IDisposable
{
    private static readonly object NativeLock = new();
    private static readonly List<string> Log = [];
    private static bool _configured;

    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;

    private LlamaCppModel(LLamaWeights weights, ModelParams parameters)
    {
        _weights = weights;
        _parameters = parameters;
    }

    /// <summary>llama.cpp's latest warnings and errors, to explain a failure.</summary>
    public static string RecentLog()
    {
        lock (Log)
        {
            return string.Join("", Log.TakeLast(30));
        }
    }

    /// <summary>
    /// llama.cpp's own quantizer (llama-quantize): <paramref name="source"/> rewritten as <paramref name="target"/> with
    /// every matrix in <paramref name="type"/> ("pure": no per-tensor choices) except the token embedding, kept float32
    /// (MoESdk looks it up in float32 in every precision). Rows that do not split into the type's blocks fall back as
    /// llama.cpp decides.
    /// </summary>
    public static void Quantize(string source, string target, LLamaFtype type)
    {
        Configure();
        // Loads the native library the way a model load does; the quantizer's entry point alone does not.
        NativeApi.llama_empty_call();
        LLamaModelQuantizeParams parameters = LLamaModelQuantizeParams.Default();
        parameters.ftype = type;
        parameters.nthread = 2;
        parameters.pure = true;
        parameters.quantize_output_tensor = true;
        parameters.token_embedding_type = GGMLType.GGML_TYPE_F32;
        if (NativeApi.llama_model_quantize(source, target, ref parameters) != 0)
        {
            throw new InvalidOperationException($"llama.cpp could not quantize {source}: {RecentLog()}");
        }
    }

    /// <summary>Loads <paramref name="path"/>; a load failure carries llama.cpp's own error lines.</summary>
    public static LlamaCppModel Load(string path, int contextLength)
    {
        Configure();
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)contextLength,
            BatchSize = (uint)contextLength,
            UBatchSize = (uint)contextLength,
            GpuLayerCount = 0,
            Threads = 2,
            BatchThreads = 2,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        try
        {
            return new LlamaCppModel(LLamaWeights.LoadFromFile(parameters), parameters);
        }
        catch (Exception e)
        {
            lock (Log)
            {
                throw new InvalidOperationException($"llama.cpp could not load {path}: {e.Message}\n{string.Join("", Log.TakeLast(20))}", e);
            }
        }
    }

    private static void Configure()
    {
        lock (NativeLock)
        {
            if (!_configured)
            {
                // Keep only warnings and errors, to explain a failed load.
                NativeLibraryConfig.All.WithLogCallback((level, message) =>
                {
                    if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning || Environment.GetEnvironmentVariable("MOE_LLAMA_LOG") == "1")
                    {
                        lock (Log)
                        {
                            Log.Add(message);
                        }
                    }
                });
                _configured = true;
            }
        }
    }

    /// <summary>Logits after feeding <paramref name="tokens"/> at positions 0.. (a fresh context).</summary>
    public float[] LastLogits(IReadOnlyList<int> tokens)
    {
        using LLamaContext context = _weights.CreateContext(_parameters);
        return Feed(context, tokens, 0);
    }

    /// <summary>llama.cpp's tokenization of <paramref name="text"/> from the GGUF vocabulary.</summary>
    public int[] Tokenize(string text, bool addBos) =>
        _weights.Tokenize(text, addBos, special: false, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();

    /// <summary>llama.cpp's text for <paramref name="tokens"/>.</summary>
    public string Detokenize(IEnumerable<int> tokens)
    {
        var decoder = new StreamingTokenDecoder(System.Text.Encoding.UTF8, _weights);
        foreach (int token in tokens)
        {
            decoder.Add(token);
        }
        return decoder.Read();
    }

    /// <summary>Logits at every position of <paramref name="tokens"/>, [position][vocab].</summary>
    public float[][] AllLogits(IReadOnlyList<int> tokens)
    {
        using LLamaContext context = _weights.CreateContext(_parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++)
        {
            batch.Add(tokens[i], i, LLamaSeqId.Zero, true);
        }
        DecodeResult result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp decode failed: {result}");
        }
        return Enumerable.Range(0, tokens.Count).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>The next <paramref name="count"/> tokens by argmax after <paramref name="prompt"/>, each fed back in.</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count)
    {
        using LLamaContext context = _weights.CreateContext(_parameters);
        float[] logits = Feed(context, prompt, 0);
        var generated = new int[count];
        for (int i = 0; i < count; i++)
        {
            generated[i] = LlamaCppSteps.ArgMax(logits);
            if (i + 1 < count)
            {
                logits = Feed(context, [generated[i]], prompt.Count + i);
            }
        }
        return generated;
    }

    private static float[] Feed(LLamaContext context, IReadOnlyList<int> tokens, int start) => LlamaCppSteps.Feed(context, tokens, start).ToArray();

    public void Dispose() => _weights.Dispose();
}
