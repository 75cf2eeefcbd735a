namespace MoESdk.Inference.Kernels;

/// <summary>
/// A piece of work over the index range [0, count) that can be split into independent sub-ranges, such as
/// the rows of a matrix-vector product or the heads of attention. Implemented by small structs that hold
/// pointers and sizes, so dispatching one allocates nothing.
/// </summary>
/// <remarks>
/// Implementations, and the kernels' loops they call that are not inlined, are marked
/// <c>MethodImplOptions.AggressiveOptimization</c>: the tiered JIT starts them unoptimized and delays counting their
/// calls while other methods are still being compiled, which kept the first prompts of a process 1.5–2.5× slower
/// (measured on the 110M shape's 8-expert prompt steps: the down projections took 60–85 ms for three prompts, then 9).
/// </remarks>
internal interface IRangeJob
{
    /// <summary>Computes the items [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Execute(int start, int end);
}
