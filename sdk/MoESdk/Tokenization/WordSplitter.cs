using System.Text;

namespace MoESdk.Tokenization;

/// <summary>
/// A tokenizer.json "pre_tokenizer": cuts normalized text into the words that BPE encodes one at a time. Each
/// splitter takes the words so far and cuts each further, so a "Sequence" applies its members in turn.
/// </summary>
internal abstract class WordSplitter
{
    /// <summary>Adds the words of <paramref name="text"/> to <paramref name="words"/>.</summary>
    /// <param name="text">One word from the splitter before, or the whole normalized piece of text.</param>
    /// <param name="section">The index of the piece among the pieces between added tokens (Metaspace's "first" scheme needs it).</param>
    /// <param name="words">Where the words go.</param>
    public abstract void Split(string text, int section, List<string> words);

    /// <summary>Splits each of several words.</summary>
    public List<string> SplitAll(List<string> texts, int section)
    {
        var words = new List<string>(texts.Count * 2);
        foreach (var text in texts)
        {
            Split(text, section, words);
        }
        return words;
    }
}

/// <summary>What "Split" does with the pieces its pattern matches (the delimiters, or with "invert" the others).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>"Split": cuts at a pattern's matches, and keeps, drops or attaches them as its behavior says.</summary>
internal sealed class PatternWordSplitter(JsCompatibleRegex pattern, SplitBehavior behavior, bool invert) : WordSplitter
{
    public override void Split(string text, int section, List<string> words)
    {
        // The text as alternating pieces, each flagged whether it is a delimiter.
        var pieces = new List<(int Start, int Length, bool Delimiter)>();
        var position = 0;
        foreach (var (start, length) in pattern.Matches(text))
        {
            if (start > position)
            {
                pieces.Add((position, start - position, invert));
            }
            pieces.Add((start, length, !invert));
            position = start + length;
        }
        if (position < text.Length)
        {
            pieces.Add((position, text.Length - position, invert));
        }

        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var (start, length, _) in pieces)
                {
                    words.Add(text.Substring(start, length));
                }
                break;
            case SplitBehavior.Removed:
                foreach (var (start, length, delimiter) in pieces)
                {
                    if (!delimiter)
                    {
                        words.Add(text.Substring(start, length));
                    }
                }
                break;
            default:
                Merge(text, pieces, words);
                break;
        }
    }

    /// <summary>The merging behaviors, as the Hugging Face tokenizers library defines them: a delimiter joins its neighbour only when that neighbour is not a delimiter too.</summary>
    private void Merge(string text, List<(int Start, int Length, bool Delimiter)> pieces, List<string> words)
    {
        var runs = new List<(int Start, int End)>();
        var previousDelimiter = false;
        if (behavior == SplitBehavior.MergedWithNext)
        {
            // Walk from the end: a delimiter joins the run after it unless that run starts with a delimiter.
            for (var p = pieces.Count - 1; p >= 0; p--)
            {
                var (start, length, delimiter) = pieces[p];
                if (delimiter && !previousDelimiter && runs.Count > 0)
                {
                    runs[^1] = (start, runs[^1].End);
                }
                else
                {
                    runs.Add((start, start + length));
                }
                previousDelimiter = delimiter;
            }
            runs.Reverse();
        }
        else
        {
            foreach (var (start, length, delimiter) in pieces)
            {
                var join = runs.Count > 0 && (behavior == SplitBehavior.Contiguous ? delimiter == previousDelimiter : delimiter && !previousDelimiter);
                if (join)
                {
                    runs[^1] = (runs[^1].Start, start + length);
                }
                else
                {
                    runs.Add((start, start + length));
                }
                previousDelimiter = delimiter;
            }
        }
        foreach (var (start, end) in runs)
        {
            words.Add(text[start..end]);
        }
    }
}

/// <summary>
/// "ByteLevel": optionally GPT-2's own split and a leading space, then every word written as its UTF-8 bytes in
/// the byte-level alphabet, which is what the vocabulary holds.
/// </summary>
internal sealed class ByteLevelWordSplitter(bool addPrefixSpace, bool useRegex) : WordSplitter
{
    private static readonly JsCompatibleRegex Gpt2 = JsCompatibleRegex.Create(ByteLevelPreTokenizer.Gpt2Pattern);

    public override void Split(string text, int section, List<string> words)
    {
        if (addPrefixSpace && !text.StartsWith(' '))
        {
            text = " " + text;
        }
        if (!useRegex)
        {
            words.Add(ToAlphabet(text));
            return;
        }
        foreach (var (start, length) in Gpt2.Matches(text))
        {
            words.Add(ToAlphabet(text.Substring(start, length)));
        }
    }

    public static string ToAlphabet(string text) => string.Create(Encoding.UTF8.GetByteCount(text), text, static (chars, source) =>
    {
        Span<byte> bytes = chars.Length <= 512 ? stackalloc byte[chars.Length] : new byte[chars.Length];
        Encoding.UTF8.GetBytes(source, bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteLevelAlphabet.ToChar(bytes[i]);
        }
    });
}

/// <summary>"Metaspace": spaces become the replacement character ('▁'), which is also put in front as the scheme says.</summary>
internal sealed class MetaspaceWordSplitter(string replacement, bool addPrefixSpace, string prependScheme) : WordSplitter
{
    public override void Split(string text, int section, List<string> words)
    {
        var replaced = text.Replace(" ", replacement, StringComparison.Ordinal);
        if (addPrefixSpace && !replaced.StartsWith(replacement, StringComparison.Ordinal) && (prependScheme == "always" || (prependScheme == "first" && section == 0)))
        {
            replaced = replacement + replaced;
        }
        words.Add(replaced);
    }
}

/// <summary>"Digits": runs of digits (or each digit) apart from the rest.</summary>
internal sealed class DigitsWordSplitter(bool individualDigits) : WordSplitter
{
    private readonly JsCompatibleRegex _pattern = JsCompatibleRegex.Create(individualDigits ? @"[^\d]+|\d" : @"[^\d]+|\d+");

    public override void Split(string text, int section, List<string> words)
    {
        foreach (var (start, length) in _pattern.Matches(text))
        {
            words.Add(text.Substring(start, length));
        }
    }
}

/// <summary>"Sequence": each splitter cuts the words of the one before.</summary>
internal sealed class SequenceWordSplitter(IReadOnlyList<WordSplitter> splitters) : WordSplitter
{
    public override void Split(string text, int section, List<string> words)
    {
        List<string> current = [text];
        foreach (var splitter in splitters)
        {
            current = splitter.SplitAll(current, section);
        }
        words.AddRange(current);
    }
}
