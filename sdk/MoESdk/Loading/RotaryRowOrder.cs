using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The two row orders of the query and key projections that rotary embeddings (RoPE) imply.
/// <list type="bullet">
/// <item>Interleaved (Meta's original code, llama2.c): within each head, rows 2i and 2i+1 are rotated together.</item>
/// <item>Halves (Hugging Face): within each head, rows i and i + headDim/2 are rotated together.</item>
/// </list>
/// Reordering the rows converts one checkpoint into the other without changing what the model computes.
/// </summary>
internal static class RotaryRowOrder
{
    /// <summary>
    /// Interleaved → halves: row c·d/2 + i of each head (c ∈ {0, 1}) becomes the old row 2i + c.
    /// This is transformers' <c>permute</c> in convert_llama_weights_to_hf.py.
    /// </summary>
    public static Tensor InterleavedToHalves(Tensor weight, int heads)
    {
        (long rows, long columns, long half) = Split(weight, heads);
        using var scope = NewDisposeScope();
        return weight.view(heads, half, 2, columns).transpose(1, 2).reshape(rows, columns).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Halves → interleaved, the inverse of <see cref="InterleavedToHalves"/> (llama2.c's export.py <c>permute_reverse</c>).</summary>
    public static Tensor HalvesToInterleaved(Tensor weight, int heads)
    {
        (long rows, long columns, long half) = Split(weight, heads);
        using var scope = NewDisposeScope();
        return weight.view(heads, 2, half, columns).transpose(1, 2).reshape(rows, columns).contiguous().MoveToOuterDisposeScope();
    }

    private static (long Rows, long Columns, long Half) Split(Tensor weight, int heads)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2 || heads <= 0 || weight.shape[0] % (2L * heads) != 0)
        {
            throw new ArgumentException($"A [{string.Join(", ", weight.shape)}] weight cannot be split into {heads} heads of even width.", nameof(weight));
        }
        return (weight.shape[0], weight.shape[1], weight.shape[0] / heads / 2);
    }
}
