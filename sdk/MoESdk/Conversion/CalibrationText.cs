using System.Globalization;
using System.Text;
using MoESdk.Tokenization;

namespace MoESdk.Conversion;

/// <summary>
/// How much a calibration text looks like text in the model's language. Experts and routers are fitted to
/// the activations of this text, so binary data, or a language the tokenizer only spells byte by byte,
/// gives a conversion that runs but has learnt nothing useful: worth a warning before minutes of work.
/// </summary>
/// <param name="InvalidUtf8Share">Share of the decoded characters that stand for bytes that are not UTF-8.</param>
/// <param name="ControlCharacterShare">Share of characters that are control characters other than tab and line breaks.</param>
/// <param name="ByteFallbackShare">
/// Share of tokens that stand for a lone byte or an unknown piece (decoded alone, they give no whole
/// character): high when the tokenizer falls back to bytes because it does not know the text's language.
/// </param>
internal sealed record CalibrationText(double InvalidUtf8Share, double ControlCharacterShare, double ByteFallbackShare)
{
    /// <summary>Above this share of non-UTF-8 or control characters, the file is not text.</summary>
    public const double MaxBinaryShare = 0.01;

    /// <summary>Above this share of byte-fallback tokens, the text is not in the tokenizer's language. English with the reference model's tokenizer: 0 %.</summary>
    public const double MaxByteFallbackShare = 0.2;

    /// <summary>The text of <paramref name="bytes"/> as a tokenizer reads it: UTF-8, invalid bytes as U+FFFD.</summary>
    public static string Decode(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Measures <paramref name="text"/> (decoded by <see cref="Decode"/>) and its <paramref name="tokens"/>.</summary>
    public static CalibrationText Measure(string text, IReadOnlyList<int> tokens, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(tokenizer);
        int invalid = 0, control = 0;
        foreach (char c in text)
        {
            if (c == '\uFFFD')
            {
                invalid++;
            }
            else if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            {
                control++;
            }
        }
        var fallback = new Dictionary<int, bool>();
        int fallbackTokens = 0;
        foreach (int id in tokens)
        {
            if (!fallback.TryGetValue(id, out bool isFallback))
            {
                string piece = tokenizer.Decode([id]);
                isFallback = piece.Length == 0 || piece.Contains('\uFFFD', StringComparison.Ordinal);
                fallback[id] = isFallback;
            }
            fallbackTokens += isFallback ? 1 : 0;
        }
        double Share(int count, int total) => total == 0 ? 0 : (double)count / total;
        return new CalibrationText(Share(invalid, text.Length), Share(control, text.Length), Share(fallbackTokens, tokens.Count));
    }

    /// <summary>A one-line warning naming <paramref name="path"/> when the text looks wrong for calibration; null when it looks fine.</summary>
    public string? Warning(string path)
    {
        string Percent(double share) => share.ToString("P1", CultureInfo.InvariantCulture);
        if (InvalidUtf8Share > MaxBinaryShare || ControlCharacterShare > MaxBinaryShare)
        {
            return $"{path} does not look like text ({Percent(InvalidUtf8Share)} invalid UTF-8, {Percent(ControlCharacterShare)} control characters, " +
                $"{Percent(ByteFallbackShare)} byte-fallback tokens): the experts will be fitted to noise; calibrate with text like the model's use";
        }
        if (ByteFallbackShare > MaxByteFallbackShare)
        {
            return $"{path}: {Percent(ByteFallbackShare)} of its tokens are byte-fallback or unknown pieces: the text is probably not in the model's language, " +
                "and experts fitted to it will serve that language poorly";
        }
        return null;
    }
}
