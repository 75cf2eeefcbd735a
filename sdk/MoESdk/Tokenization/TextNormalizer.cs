using System.Text;

namespace MoESdk.Tokenization;

/// <summary>A tokenizer.json "normalizer": rewrites each piece of text between added tokens before it is split into words.</summary>
internal abstract class TextNormalizer
{
    public abstract string Normalize(string text);
}

/// <summary>"NFC", "NFD", "NFKC", "NFKD": Unicode normalization.</summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : TextNormalizer
{
    public override string Normalize(string text)
    {
        try
        {
            return text.IsNormalized(form) ? text : text.Normalize(form);
        }
        catch (ArgumentException)
        {
            // Text with an unpaired surrogate cannot be normalized by .NET; JavaScript leaves such text as it is.
            return text;
        }
    }
}

/// <summary>"Replace": every match of a string or regular expression becomes the content.</summary>
internal sealed class ReplaceNormalizer(JsCompatibleRegex pattern, string content) : TextNormalizer
{
    public override string Normalize(string text) => pattern.Replace(text, content);
}

/// <summary>"Prepend": puts a string in front (LLaMA-2's '▁' for the first word).</summary>
internal sealed class PrependNormalizer(string prefix) : TextNormalizer
{
    public override string Normalize(string text) => prefix + text;
}

/// <summary>"Lowercase".</summary>
internal sealed class LowercaseNormalizer : TextNormalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary>"Strip": removes whitespace at either end.</summary>
internal sealed class StripNormalizer(bool left, bool right) : TextNormalizer
{
    public override string Normalize(string text) => (left, right) switch
    {
        (true, true) => text.Trim(),
        (true, false) => text.TrimStart(),
        (false, true) => text.TrimEnd(),
        _ => text,
    };
}

/// <summary>"Sequence": each normalizer in turn.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<TextNormalizer> normalizers) : TextNormalizer
{
    public override string Normalize(string text)
    {
        foreach (var normalizer in normalizers)
        {
            text = normalizer.Normalize(text);
        }
        return text;
    }
}
