using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MoESdk.Tokenization;

/// <summary>
/// The regular expression that splits text into words before byte-level BPE. Training and encoding must split
/// identically, so the trainer and the tokenizer take the pattern from here.
/// </summary>
internal static partial class ByteLevelPreTokenizer
{
    /// <summary>GPT-2's split: contractions, words and digit runs with their leading space, punctuation runs, whitespace.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2Pattern)]
    public static partial Regex Gpt2();

    public static PreTokenizer Create(string? pattern)
    {
        var regex = pattern is null or Gpt2Pattern ? Gpt2() : new Regex(pattern, RegexOptions.Compiled);
        return new RegexPreTokenizer(regex, specialTokens: null);
    }
}
