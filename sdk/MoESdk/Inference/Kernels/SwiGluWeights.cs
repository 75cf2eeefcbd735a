namespace MoESdk.Inference.Kernels;

/// <summary>
/// The three matrices of a SwiGLU feed-forward block (a dense FFN, or one Mixture-of-Experts expert):
/// gate and up are [M, dim], down is stored as [dim, M] (PyTorch's Linear layout), each contiguous, gate and up in
/// one precision.
/// </summary>
internal readonly struct SwiGluWeights
{
    public SwiGluWeights(WeightMatrix gate, WeightMatrix up, WeightMatrix down)
    {
        if (gate.Rows != up.Rows || gate.Cols != up.Cols || down.Rows != gate.Cols || down.Cols != gate.Rows || gate.Precision != up.Precision)
        {
            throw new ArgumentException(
                $"SwiGLU shapes disagree: gate [{gate.Rows}, {gate.Cols}] {gate.Precision}, up [{up.Rows}, {up.Cols}] {up.Precision}, down [{down.Rows}, {down.Cols}].");
        }
        Gate = gate;
        Up = up;
        Down = down;
    }

    public WeightMatrix Gate { get; }

    public WeightMatrix Up { get; }

    public WeightMatrix Down { get; }

    /// <summary>The model width (input and output length).</summary>
    public int Dim => Gate.Cols;

    /// <summary>The hidden width M.</summary>
    public int Hidden => Gate.Rows;
}
