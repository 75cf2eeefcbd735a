namespace MoESdk.Inference.Kernels;

/// <summary>
/// A row-major float32 matrix in memory the view does not own (usually a weight tensor's storage, see
/// <see cref="TensorMemory.Matrix"/>): row r starts at <c>Data + r * Cols</c>.
/// </summary>
internal readonly unsafe struct FloatMatrix
{
    public FloatMatrix(float* data, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Data = data;
        Rows = rows;
        Cols = cols;
    }

    public float* Data { get; }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Rows [<paramref name="start"/>, start + <paramref name="count"/>) as a matrix of their own, e.g. one expert's slice.</summary>
    public FloatMatrix Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)start + (ulong)(uint)count, (ulong)Rows, nameof(count));
        return new FloatMatrix(Data + ((nint)start * Cols), count, Cols);
    }
}
