namespace MoESdk.Inference.Kernels;

/// <summary>
/// A row-major matrix of bfloat16 values (the upper 16 bits of a float32) in memory the view does not own,
/// usually a <see cref="BFloat16Weights"/> buffer. Half the bytes of float32, so a memory-bound matrix-vector
/// product over it can run up to twice as fast, at bfloat16 precision for the weights.
/// </summary>
internal readonly unsafe struct BFloat16Matrix
{
    public BFloat16Matrix(ushort* data, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Data = data;
        Rows = rows;
        Cols = cols;
    }

    public ushort* Data { get; }

    public int Rows { get; }

    public int Cols { get; }
}
