namespace MoESdk.Evaluation;

/// <summary>
/// Splits a token stream into fixed, non-overlapping windows of <c>length + 1</c> tokens: the first
/// <c>length</c> are the input, the last <c>length</c> the targets. Every evaluation of a text uses the same
/// windows, so numbers from different models and runs are comparable.
/// </summary>
internal sealed class TokenWindows
{
    public TokenWindows(IReadOnlyList<int> tokens, int length, int? maxWindows = null)
    {
        if (length < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"Window length must be at least 1, was {length}.");
        }
        int count = (tokens.Count - 1) / length;
        if (maxWindows is int max)
        {
            count = Math.Min(count, max);
        }
        if (count < 1)
        {
            throw new ArgumentException($"The text has {tokens.Count} tokens: too short for one window of {length} (needs {length + 1}).");
        }
        Tokens = tokens;
        Length = length;
        Count = count;
    }

    public IReadOnlyList<int> Tokens { get; }

    public int Length { get; }

    public int Count { get; }

    /// <summary>Tokens predicted over all windows.</summary>
    public long PredictedTokens => (long)Count * Length;

    /// <summary>Windows first..first+count-1 as input and target id arrays, row-major [count, Length].</summary>
    public (long[] Inputs, long[] Targets) Batch(int first, int count)
    {
        var inputs = new long[count * Length];
        var targets = new long[count * Length];
        for (int w = 0; w < count; w++)
        {
            int start = (first + w) * Length;
            for (int i = 0; i < Length; i++)
            {
                inputs[w * Length + i] = Tokens[start + i];
                targets[w * Length + i] = Tokens[start + i + 1];
            }
        }
        return (inputs, targets);
    }
}
