using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Rotary position embedding in the Hugging Face convention: the two halves of each head, (x[i], x[i+d/2]),
/// are rotated by angle position · θ^(-2i/d). Cos/sin tables cover the positions used so far and grow (doubling)
/// on demand up to the configured maximum: a config that claims millions of positions costs nothing until a
/// sequence actually reaches them.
/// Scaling: linear divides positions by the factor; llama3 reshapes the frequencies; dynamic (NTK) only
/// changes anything beyond the trained context, which the KV cache never exceeds, so it needs no work here.
/// </summary>
internal sealed class RotaryEmbedding
{
    private const int InitialPositions = 256;

    private readonly double[] _inverseFrequencies;
    private readonly double _positionScale;
    private readonly int _maxPositions;
    private readonly Lock _growing = new();

    // Replaced, never changed: a session on another thread keeps reading the tables it took.
    private RotaryTables _tables;

    public RotaryEmbedding(ModelConfig config)
    {
        HalfDim = config.HeadDim / 2;
        _inverseFrequencies = InverseFrequencies(config, HalfDim);
        _positionScale = config.RopeScaling?.Type == "linear" ? 1.0 / config.RopeScaling.Factor : 1.0;
        _maxPositions = config.MaxPositions;
        _tables = Build(Math.Min(InitialPositions, _maxPositions));
    }

    public int HalfDim { get; }

    /// <summary>Tables covering at least positions [0, <paramref name="positions"/>), built if needed.</summary>
    public RotaryTables Covering(int positions)
    {
        RotaryTables tables = Volatile.Read(ref _tables);
        if (positions <= tables.Positions)
        {
            return tables;
        }
        if (positions > _maxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(positions), $"Position {positions - 1} is beyond the model's context of {_maxPositions}.");
        }
        lock (_growing)
        {
            tables = _tables;
            if (positions > tables.Positions)
            {
                tables = Build((int)Math.Min(_maxPositions, Math.Max(positions, 2L * tables.Positions)));
                Volatile.Write(ref _tables, tables);
            }
            return tables;
        }
    }

    /// <summary>Rotates x [batch, tokens, heads, headDim] whose tokens sit at positions start.. .</summary>
    public Tensor Apply(Tensor x, int start)
    {
        using var scope = NewDisposeScope();
        long tokens = x.shape[1];
        RotaryTables tables = Covering(checked(start + (int)tokens));
        // The rows are copied into tensors per call (tokens × headDim/2 floats, small beside the attention
        // itself), so the tables stay plain arrays that no session ever has to dispose.
        Range rows = (start * HalfDim)..((start + (int)tokens) * HalfDim);
        Tensor cos = tensor(tables.CosValues[rows], [tokens, HalfDim], device: x.device).to_type(x.dtype).unsqueeze(1);
        Tensor sin = tensor(tables.SinValues[rows], [tokens, HalfDim], device: x.device).to_type(x.dtype).unsqueeze(1);
        Tensor[] halves = x.chunk(2, -1);
        Tensor a = halves[0], b = halves[1];
        return cat([(a * cos).add(b * sin, TorchScalars.MinusOne), (b * cos).add(a * sin, TorchScalars.One)], -1).MoveToOuterDisposeScope();
    }

    private RotaryTables Build(int positions)
    {
        int half = HalfDim;
        var cos = new float[checked(positions * half)];
        var sin = new float[cos.Length];
        for (int p = 0; p < positions; p++)
        {
            for (int i = 0; i < half; i++)
            {
                // Angles in double: float32 positions × frequencies lose precision at long contexts.
                double angle = p * _positionScale * _inverseFrequencies[i];
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
        }
        return new RotaryTables(positions, cos, sin);
    }

    internal static double[] InverseFrequencies(ModelConfig config, int half)
    {
        var inverse = new double[half];
        for (int i = 0; i < half; i++)
        {
            inverse[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);
        }
        if (config.RopeScaling is { Type: "llama3" } s)
        {
            // Llama 3.1: long wavelengths are slowed by the factor, short ones kept, a smooth ramp between.
            double lowWavelength = s.OriginalMaxPositions / s.LowFrequencyFactor;
            double highWavelength = s.OriginalMaxPositions / s.HighFrequencyFactor;
            for (int i = 0; i < half; i++)
            {
                double wavelength = 2 * Math.PI / inverse[i];
                if (wavelength > lowWavelength)
                {
                    inverse[i] /= s.Factor;
                }
                else if (wavelength >= highWavelength)
                {
                    double smooth = (s.OriginalMaxPositions / wavelength - s.LowFrequencyFactor) / (s.HighFrequencyFactor - s.LowFrequencyFactor);
                    inverse[i] = (1 - smooth) * inverse[i] / s.Factor + smooth * inverse[i];
                }
            }
        }
        return inverse;
    }
}

/// <summary>Cos and sin tables [positions, headDim/2], row-major, for positions [0, <see cref="Positions"/>).</summary>
/// <param name="Positions">Rows in each table.</param>
/// <param name="CosValues">cos of every position's angles.</param>
/// <param name="SinValues">sin of every position's angles.</param>
internal sealed record RotaryTables(int Positions, float[] CosValues, float[] SinValues);
