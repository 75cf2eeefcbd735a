using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Rotary position embedding in the Hugging Face convention: the two halves of each head, (x[i], x[i+d/2]),
/// are rotated by angle position · θ^(-2i/d). Cos/sin tables for every position are computed once.
/// Scaling: linear divides positions by the factor; llama3 reshapes the frequencies; dynamic (NTK) only
/// changes anything beyond the trained context, which the KV cache never exceeds, so it needs no work here.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    public RotaryEmbedding(ModelConfig config)
    {
        int half = config.HeadDim / 2;
        double[] inverseFrequencies = InverseFrequencies(config, half);
        int positions = config.MaxPositions;
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        double positionScale = config.RopeScaling?.Type == "linear" ? 1.0 / config.RopeScaling.Factor : 1.0;
        for (int p = 0; p < positions; p++)
        {
            for (int i = 0; i < half; i++)
            {
                // Angles in double: float32 positions × frequencies lose precision at long contexts.
                double angle = p * positionScale * inverseFrequencies[i];
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
        }
        Cos = tensor(cos, [positions, half]);
        Sin = tensor(sin, [positions, half]);
        CosValues = cos;
        SinValues = sin;
        HalfDim = half;
    }

    /// <summary>cos table [positions, headDim/2].</summary>
    public Tensor Cos { get; }

    /// <summary>sin table [positions, headDim/2].</summary>
    public Tensor Sin { get; }

    /// <summary>The same cos table as a managed array, for the single-token decode kernels.</summary>
    public float[] CosValues { get; }

    /// <summary>The same sin table as a managed array.</summary>
    public float[] SinValues { get; }

    public int HalfDim { get; }

    /// <summary>Rotates x [batch, tokens, heads, headDim] whose tokens sit at positions start.. .</summary>
    public Tensor Apply(Tensor x, int start)
    {
        using var scope = NewDisposeScope();
        long tokens = x.shape[1];
        Tensor cos = Cos.narrow(0, start, tokens).unsqueeze(1);
        Tensor sin = Sin.narrow(0, start, tokens).unsqueeze(1);
        Tensor[] halves = x.chunk(2, -1);
        Tensor a = halves[0], b = halves[1];
        return cat([a * cos - b * sin, b * cos + a * sin], -1).MoveToOuterDisposeScope();
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

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}
