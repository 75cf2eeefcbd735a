namespace MoESdk.Tokenization;

/// <summary>
/// Finds special and added tokens written in text: the text is cut at each occurrence, leftmost first and the
/// longest token where several start at the same place, so that the pieces between them can be encoded as text.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<char, string[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<KeyValuePair<string, int>> tokens)
    {
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in tokens)
        {
            if (token.Length > 0)
            {
                _ids.TryAdd(token, id);
            }
        }
        _byFirstChar = _ids.Keys.GroupBy(t => t[0]).ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Length).ToArray());
    }

    public bool IsEmpty => _ids.Count == 0;

    /// <summary>The text as pieces of plain text (Id null) and matched tokens (Id set), in order.</summary>
    public IEnumerable<(string Text, int? Id)> Split(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
            {
                continue;
            }
            foreach (var token in candidates)
            {
                if (string.CompareOrdinal(text, i, token, 0, token.Length) == 0)
                {
                    if (i > start)
                    {
                        yield return (text[start..i], null);
                    }
                    yield return (token, _ids[token]);
                    start = i + token.Length;
                    i = start - 1;
                    break;
                }
            }
        }
        if (start < text.Length)
        {
            yield return (text[start..], null);
        }
    }
}
