using System.Globalization;
using System.Text;

namespace MoESdk.Tokenization;

/// <summary>A tokenizer.json "decoder": turns token strings back into text, each decoder rewriting the list of pieces the one before left.</summary>
internal abstract class TokenDecoder
{
    public abstract List<string> Decode(List<string> tokens);
}

/// <summary>
/// "ByteLevel": runs of byte-level tokens become their UTF-8 text (invalid bytes as U+FFFD); added tokens, which are
/// stored as written, pass through.
/// </summary>
internal sealed class ByteLevelTokenDecoder(IReadOnlySet<string> addedTokens) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var pieces = new List<string>();
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (addedTokens.Contains(token))
            {
                Flush(bytes, pieces);
                pieces.Add(token);
                continue;
            }
            foreach (var c in token)
            {
                if (ByteLevelAlphabet.TryToByte(c, out var b))
                {
                    bytes.Add(b);
                }
            }
        }
        Flush(bytes, pieces);
        return pieces;
    }

    private static void Flush(List<byte> bytes, List<string> pieces)
    {
        if (bytes.Count > 0)
        {
            pieces.Add(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
        }
    }
}

/// <summary>"Replace": every occurrence in each token becomes the content ('▁' → ' ').</summary>
internal sealed class ReplaceTokenDecoder(JsCompatibleRegex pattern, string content) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.ConvertAll(t => pattern.Replace(t, content));
}

/// <summary>"ByteFallback": runs of <c>&lt;0xXX&gt;</c> tokens become their UTF-8 text (invalid bytes as U+FFFD).</summary>
internal sealed class ByteFallbackTokenDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var pieces = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                continue;
            }
            if (bytes.Count > 0)
            {
                pieces.Add(Encoding.UTF8.GetString([.. bytes]));
                bytes.Clear();
            }
            pieces.Add(token);
        }
        if (bytes.Count > 0)
        {
            pieces.Add(Encoding.UTF8.GetString([.. bytes]));
        }
        return pieces;
    }
}

/// <summary>"Fuse": all pieces become one.</summary>
internal sealed class FuseTokenDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>"Strip": removes up to <c>start</c> leading and <c>stop</c> trailing occurrences of a character from each piece (LLaMA-2's dummy-prefix space).</summary>
internal sealed class StripTokenDecoder(char content, int start, int stop) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.ConvertAll(token =>
    {
        var from = 0;
        while (from < start && from < token.Length && token[from] == content)
        {
            from++;
        }
        var to = token.Length;
        while (token.Length - to < stop && to > from && token[to - 1] == content)
        {
            to--;
        }
        return token[from..to];
    });
}

/// <summary>"Metaspace": the replacement character becomes a space, and the first token's leading space is dropped when one was added.</summary>
internal sealed class MetaspaceTokenDecoder(string replacement, bool addPrefixSpace) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var pieces = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var piece = tokens[i].Replace(replacement, " ", StringComparison.Ordinal);
            pieces.Add(addPrefixSpace && i == 0 && piece.StartsWith(' ') ? piece[1..] : piece);
        }
        return pieces;
    }
}

/// <summary>"Sequence": each decoder in turn.</summary>
internal sealed class SequenceTokenDecoder(IReadOnlyList<TokenDecoder> decoders) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        foreach (var decoder in decoders)
        {
            tokens = decoder.Decode(tokens);
        }
        return tokens;
    }
}
