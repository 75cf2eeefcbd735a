using LLama;
using LLama.Native;

namespace MoESdk.Benchmarks.LlamaCpp;

/// <summary>
/// Tokens through a llama.cpp context (LLamaSharp) one batch at a time, and the greedy choice: the steps the export
/// parity tests and the benchmarks' llama.cpp peer both take.
/// </summary>
internal static class LlamaCppSteps
{
    /// <summary>
    /// Decodes <paramref name="tokens"/> at positions from <paramref name="start"/> on in sequence 0 and returns the last
    /// one's logits, valid until the context's next decode.
    /// </summary>
    public static ReadOnlySpan<float> Feed(LLamaContext context, IReadOnlyList<int> tokens, int start)
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

    /// <summary>The index of the largest value; the first of equal ones.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
