using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>
/// Random windows of a token stream as (input, target) batches [batch, length], from a seeded generator so
/// that a run (and a resumed run, given the step) sees the same batches.
/// </summary>
internal sealed class TrainingBatches
{
    private readonly int[] _tokens;

    public TrainingBatches(int[] tokens, int batchSize, int length)
    {
        if (tokens.Length < length + 2)
        {
            throw new ArgumentException($"The training text has {tokens.Length} tokens: fewer than one window of {length + 1}.");
        }
        _tokens = tokens;
        BatchSize = batchSize;
        Length = length;
    }

    public int BatchSize { get; }

    public int Length { get; }

    /// <summary>The batch of step <paramref name="step"/>: a pure function of seed and step.</summary>
    public (Tensor Inputs, Tensor Targets) At(int seed, int step)
    {
        // HashCode.Combine is randomized per process; this mix is stable across runs and machines.
        var random = new Random(unchecked(seed * 1_000_003 + step));
        var inputs = new long[BatchSize * Length];
        var targets = new long[BatchSize * Length];
        for (int b = 0; b < BatchSize; b++)
        {
            int start = random.Next(0, _tokens.Length - Length - 1);
            for (int i = 0; i < Length; i++)
            {
                inputs[b * Length + i] = _tokens[start + i];
                targets[b * Length + i] = _tokens[start + i + 1];
            }
        }
        return (tensor(inputs, [BatchSize, Length]), tensor(targets, [BatchSize, Length]));
    }
}
