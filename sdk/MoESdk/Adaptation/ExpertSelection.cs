using System.Globalization;

namespace MoESdk.Adaptation;

/// <summary>
/// The experts a domain adaptation fine-tunes. <see cref="Auto"/> applies this rule: in every layer, the
/// <c>perLayer</c> experts (default: the layer's top-k, as many as one token runs) with the largest share of
/// the layer's routing on the domain text, ties going to the lower index. <see cref="Explicit"/> takes a list.
/// </summary>
public sealed record ExpertSelection
{
    private ExpertSelection(int? perLayer, IReadOnlyList<(int Layer, int Expert)> experts)
    {
        PerLayer = perLayer;
        Listed = experts;
    }

    /// <summary>True for the routing-based rule.</summary>
    public bool IsAuto => Listed.Count == 0;

    /// <summary>Experts per layer under the automatic rule; null means the layer's top-k.</summary>
    public int? PerLayer { get; }

    /// <summary>The listed (layer, expert) pairs of an explicit selection, in layer then expert order.</summary>
    public IReadOnlyList<(int Layer, int Expert)> Listed { get; }

    public static ExpertSelection Auto(int? perLayer = null)
    {
        if (perLayer is < 1)
        {
            throw new ArgumentException($"Experts per layer must be at least 1, was {perLayer}.");
        }
        return new(perLayer, []);
    }

    public static ExpertSelection Explicit(IEnumerable<(int Layer, int Expert)> experts)
    {
        (int, int)[] list = experts.Distinct().Order().ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("An explicit expert selection needs at least one layer:expert pair.");
        }
        if (list.Any(p => p.Item1 < 0 || p.Item2 < 0))
        {
            throw new ArgumentException("Layer and expert indices must be 0 or more.");
        }
        return new(null, list);
    }

    /// <summary>Parses <c>auto</c>, <c>auto:N</c> (N experts per layer) or a list <c>layer:expert,layer:expert,...</c>.</summary>
    public static ExpertSelection Parse(string text)
    {
        string trimmed = text.Trim();
        if (trimmed == "auto")
        {
            return Auto();
        }
        if (trimmed.StartsWith("auto:", StringComparison.Ordinal))
        {
            return int.TryParse(trimmed.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int perLayer) && perLayer > 0
                ? Auto(perLayer)
                : throw new ArgumentException($"'{text}' is not a valid selection: auto:N needs a positive number of experts per layer.");
        }
        var pairs = new List<(int, int)>();
        foreach (string item in trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = item.Split(':');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int layer)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int expert))
            {
                throw new ArgumentException($"'{item}' in the expert list '{text}' is not layer:expert (e.g. 0:3,2:5), auto or auto:N.");
            }
            pairs.Add((layer, expert));
        }
        return Explicit(pairs);
    }

    public override string ToString() => IsAuto
        ? PerLayer is int n ? $"auto:{n}" : "auto"
        : string.Join(",", Listed.Select(p => $"{p.Layer}:{p.Expert}"));
}
