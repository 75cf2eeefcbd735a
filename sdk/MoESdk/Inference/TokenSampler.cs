namespace MoESdk.Inference;

/// <summary>
/// Picks the next token from a logits vector: greedy, or temperature + top-k + top-p sampling from a seeded (or,
/// without a seed, randomly seeded) generator. Reuses its buffers, so a generation allocates nothing per token. Not thread-safe: one per
/// generation.
/// </summary>
internal sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private float[] _probabilities = [];
    private int[] _order = [];
    private float[] _sortKeys = [];

    public TokenSampler(SamplingOptions options)
    {
        options.Validate();
        _options = options;
        _random = options.Seed is int seed ? new Random(seed) : new Random();
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        if (_options.IsGreedy)
        {
            return ArgMax(logits);
        }
        int vocab = logits.Length;
        if (_probabilities.Length != vocab)
        {
            _probabilities = new float[vocab];
            _order = new int[vocab];
            _sortKeys = new float[vocab];
        }

        // Softmax at the given temperature, stabilized by the maximum logit.
        float max = logits[ArgMax(logits)];
        double sum = 0;
        for (int i = 0; i < vocab; i++)
        {
            float p = MathF.Exp((logits[i] - max) / _options.Temperature);
            _probabilities[i] = p;
            sum += p;
        }

        int candidates = vocab;
        bool truncate = (_options.TopK > 0 && _options.TopK < vocab) || _options.TopP < 1f;
        if (truncate)
        {
            // Most likely first; the sort key is negated so Array.Sort's ascending order does it.
            for (int i = 0; i < vocab; i++)
            {
                _sortKeys[i] = -_probabilities[i];
                _order[i] = i;
            }
            Array.Sort(_sortKeys, _order);
            if (_options.TopK > 0)
            {
                candidates = Math.Min(candidates, _options.TopK);
            }
            if (_options.TopP < 1f)
            {
                double kept = 0;
                double target = _options.TopP * sum;
                for (int i = 0; i < candidates; i++)
                {
                    kept += _probabilities[_order[i]];
                    if (kept >= target)
                    {
                        candidates = i + 1;
                        break;
                    }
                }
            }
            sum = 0;
            for (int i = 0; i < candidates; i++)
            {
                sum += _probabilities[_order[i]];
            }
        }

        double draw = _random.NextDouble() * sum;
        double cumulative = 0;
        for (int i = 0; i < candidates; i++)
        {
            int token = truncate ? _order[i] : i;
            cumulative += _probabilities[token];
            if (draw < cumulative)
            {
                return token;
            }
        }
        return truncate ? _order[candidates - 1] : vocab - 1;
    }

    /// <summary>Index of the largest value; the first one on ties, as the reference implementation does.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        float bestValue = values[0];
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > bestValue)
            {
                bestValue = values[i];
                best = i;
            }
        }
        return best;
    }
}
