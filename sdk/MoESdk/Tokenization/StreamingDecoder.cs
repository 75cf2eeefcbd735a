namespace MoESdk.Tokenization;

/// <summary>
/// Turns token ids, fed one at a time as a model generates them, into text that can be printed at once. A token
/// may end inside a UTF-8 character (byte-level BPE, byte fallback) and a token's leading space may depend on the
/// token before it, so each new piece is the difference between decoding a short window with and without the
/// newest ids, and is held back while it ends in an incomplete character.
/// </summary>
/// <remarks>Not safe for concurrent use; use one per generation.</remarks>
internal sealed class StreamingDecoder
{
    private const int ContextTokens = 6;
    private const char Replacement = '\uFFFD';

    private readonly ITextTokenizer _tokenizer;
    private readonly List<int> _window = [];
    private int _readOffset;

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="context">The prompt's ids, so the first generated token gets its space right.</param>
    public StreamingDecoder(ITextTokenizer tokenizer, IEnumerable<int>? context = null)
    {
        _tokenizer = tokenizer;
        if (context is not null)
        {
            _window.AddRange(context.TakeLast(ContextTokens));
            _readOffset = _window.Count;
        }
    }

    /// <summary>Adds one generated id and returns the text it completes, possibly empty.</summary>
    public string Append(int id)
    {
        _window.Add(id);
        var printed = _tokenizer.Decode(_window.Take(_readOffset));
        var all = _tokenizer.Decode(_window);
        if (all.Length <= printed.Length || all[^1] == Replacement)
        {
            return "";
        }
        // The window restarts at what was read so far, which keeps decoding cost constant per token.
        _window.RemoveRange(0, _readOffset);
        _readOffset = _window.Count;
        return all[printed.Length..];
    }

    /// <summary>Returns the text still held back (an incomplete character comes out as U+FFFD) and starts over.</summary>
    public string Flush()
    {
        var printed = _tokenizer.Decode(_window.Take(_readOffset));
        var all = _tokenizer.Decode(_window);
        _window.Clear();
        _readOffset = 0;
        return all.Length > printed.Length ? all[printed.Length..] : "";
    }
}
