namespace MoESdk.Tokenization;

/// <summary>
/// Finds special and added tokens written in text: the text is cut at each occurrence, leftmost first and the
/// longest token where several start at the same place, so that the pieces between them can be encoded as text.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Node _root = new();

    public AddedTokenSplitter(IEnumerable<KeyValuePair<string, int>> tokens)
    {
        foreach (var (token, id) in tokens)
        {
            if (token.Length == 0)
            {
                continue;
            }
            var node = _root;
            foreach (var c in token)
            {
                node = node.Children.TryGetValue(c, out var child) ? child : node.Children[c] = new Node();
            }
            node.Id ??= id;
        }
    }

    /// <summary>The text as pieces of plain text (Id null) and matched tokens (Id set), in order.</summary>
    public List<(string Text, int? Id)> Split(string text)
    {
        var pieces = new List<(string, int?)>();
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            // Walk the trie from i, remembering the longest token that ends on the way.
            var node = _root;
            var matchLength = 0;
            var matchId = 0;
            for (var j = i; j < text.Length && node.Children.TryGetValue(text[j], out node); j++)
            {
                if (node.Id is { } id)
                {
                    matchLength = j - i + 1;
                    matchId = id;
                }
            }
            if (matchLength == 0)
            {
                i++;
                continue;
            }
            if (i > start)
            {
                pieces.Add((text[start..i], null));
            }
            pieces.Add((text.Substring(i, matchLength), matchId));
            i += matchLength;
            start = i;
        }
        if (start < text.Length)
        {
            pieces.Add((text[start..], null));
        }
        return pieces;
    }

    private sealed class Node
    {
        public Dictionary<char, Node> Children { get; } = [];

        public int? Id { get; set; }
    }
}
