using MoESdk.Tokenization;

namespace MoESdk.Evaluation;

/// <summary>
/// What each expert does on a text: its load, and the tokens and two-token contexts routed to it most often,
/// decoded. Built from a <see cref="RoutingProfile"/>.
/// </summary>
/// <param name="Tokens">Routed tokens of the text.</param>
/// <param name="Layers">One entry per Mixture-of-Experts layer.</param>
internal sealed record ExpertUsageReport(long Tokens, IReadOnlyList<LayerUsage> Layers)
{
    /// <param name="profile">Routing of the text.</param>
    /// <param name="tokenizer">Decodes token ids for display.</param>
    /// <param name="topTokens">Tokens listed per expert.</param>
    /// <param name="topContexts">Contexts listed per expert.</param>
    public static ExpertUsageReport Build(RoutingProfile profile, ITextTokenizer tokenizer, int topTokens = 8, int topContexts = 5)
    {
        var decoded = new Dictionary<int, string>();
        string Decode(int id)
        {
            if (!decoded.TryGetValue(id, out string? text))
            {
                decoded[id] = text = tokenizer.Decode([id]);
            }
            return text;
        }

        IReadOnlyList<int> tokens = profile.Tokens;
        var occurrences = new Dictionary<int, long>();
        foreach (int id in tokens)
        {
            occurrences[id] = occurrences.GetValueOrDefault(id) + 1;
        }
        var layers = new LayerUsage[profile.Layers];
        for (int layer = 0; layer < profile.Layers; layer++)
        {
            int experts = profile.ExpertCount(layer);
            var tokenCounts = Enumerable.Range(0, experts).Select(_ => new Dictionary<int, long>()).ToArray();
            var contextCounts = Enumerable.Range(0, experts).Select(_ => new Dictionary<(int Before, int Token), long>()).ToArray();
            for (int position = 0; position < tokens.Count; position++)
            {
                int id = tokens[position];
                foreach (int expert in profile.ChosenExperts(layer, position))
                {
                    tokenCounts[expert][id] = tokenCounts[expert].GetValueOrDefault(id) + 1;
                    if (position > 0)
                    {
                        var key = (tokens[position - 1], id);
                        contextCounts[expert][key] = contextCounts[expert].GetValueOrDefault(key) + 1;
                    }
                }
            }
            long[] counts = profile.Counts(layer);
            double[] shares = profile.Shares(layer);
            // Ties are broken by token id so the report is the same on every run.
            var usage = Enumerable.Range(0, experts).Select(e => new ExpertUsage(e, counts[e], shares[e],
                tokenCounts[e].OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(topTokens)
                    .Select(p => new TokenCount(p.Key, Decode(p.Key), p.Value, (double)p.Value / occurrences[p.Key])).ToArray(),
                contextCounts[e].OrderByDescending(p => p.Value).ThenBy(p => p.Key.Before).ThenBy(p => p.Key.Token).Take(topContexts)
                    .Select(p => new ContextCount(Decode(p.Key.Before), Decode(p.Key.Token), p.Value)).ToArray())).ToArray();
            layers[layer] = new LayerUsage(layer, profile.TopK(layer), profile.Imbalance(layer), usage);
        }
        return new ExpertUsageReport(tokens.Count, layers);
    }
}

/// <summary>A layer's experts on the text.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="TopK">Experts chosen per token.</param>
/// <param name="Imbalance">Busiest expert's count over the mean count (1 = perfectly balanced).</param>
/// <param name="Experts">Every routed expert, by index.</param>
internal sealed record LayerUsage(int Layer, int TopK, double Imbalance, IReadOnlyList<ExpertUsage> Experts);

/// <summary>One expert on the text.</summary>
/// <param name="Expert">Index within the layer.</param>
/// <param name="Count">Tokens routed to it.</param>
/// <param name="Share">Its share of the layer's expert slots.</param>
/// <param name="TopTokens">Tokens routed here most often.</param>
/// <param name="TopContexts">Previous token + token pairs routed here most often.</param>
internal sealed record ExpertUsage(int Expert, long Count, double Share, IReadOnlyList<TokenCount> TopTokens, IReadOnlyList<ContextCount> TopContexts);

/// <summary>A token routed to an expert.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Text">The token decoded.</param>
/// <param name="Count">Times it was routed to the expert.</param>
/// <param name="OfOccurrences">Share of the token's occurrences in the text that went to this expert.</param>
internal sealed record TokenCount(int Id, string Text, long Count, double OfOccurrences);

/// <summary>A token in context routed to an expert.</summary>
/// <param name="Before">The previous token, decoded.</param>
/// <param name="Token">The routed token, decoded.</param>
/// <param name="Count">Times this pair's second token was routed to the expert.</param>
internal sealed record ContextCount(string Before, string Token, long Count);
