namespace MoESdk.Conversion;

/// <summary>
/// How one layer's FFN neurons (intermediate channels) are divided: each routed expert's neurons, and the
/// neurons of always-on shared experts. Every neuron belongs to at most one group; with no neuron dropped,
/// the groups' SwiGLU slices sum exactly to the dense FFN.
/// </summary>
internal sealed record NeuronPartition(IReadOnlyList<int[]> Experts, IReadOnlyList<int[]> Shared)
{
    public int ExpertCount => Experts.Count;

    /// <summary>Throws when groups overlap, index outside the FFN, or routed experts differ in width.</summary>
    public void Validate(int intermediateSize)
    {
        var seen = new bool[intermediateSize];
        foreach (int[] group in Experts.Concat(Shared))
        {
            foreach (int neuron in group)
            {
                if ((uint)neuron >= (uint)intermediateSize)
                {
                    throw new ArgumentException($"Neuron {neuron} is outside the FFN width {intermediateSize}.");
                }
                if (seen[neuron])
                {
                    throw new ArgumentException($"Neuron {neuron} is assigned twice.");
                }
                seen[neuron] = true;
            }
        }
        if (Experts.Select(e => e.Length).Distinct().Count() > 1)
        {
            throw new ArgumentException("Routed experts must all have the same width.");
        }
    }
}
