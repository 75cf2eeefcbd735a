namespace MoESdk.Loading;

/// <summary>One tensor as a safetensors header describes it.</summary>
/// <param name="Name">Tensor name, e.g. <c>model.norm.weight</c>.</param>
/// <param name="DType">The format's dtype name: F32, F16, BF16 (readable) or another safetensors dtype.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
internal sealed record SafeTensorsEntry(string Name, string DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (product, dimension) => checked(product * dimension));
}
