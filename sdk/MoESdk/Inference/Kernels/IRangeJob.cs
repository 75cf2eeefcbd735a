namespace MoESdk.Inference.Kernels;

/// <summary>
/// A piece of work over the index range [0, count) that can be split into independent sub-ranges, such as
/// the rows of a matrix-vector product or the heads of attention. Implemented by small structs that hold
/// pointers and sizes, so dispatching one allocates nothing.
/// </summary>
internal interface IRangeJob
{
    /// <summary>Computes the items [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Execute(int start, int end);
}
