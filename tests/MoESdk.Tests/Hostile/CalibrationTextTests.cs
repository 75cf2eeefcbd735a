using MoESdk.Conversion;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Hostile;

/// <summary>A calibration text that is not text, or not in the model's language, is noticed before the conversion.</summary>
[Trait("Category", "Unit")]
public class CalibrationTextTests
{
    private static readonly string ReferenceModel = Path.Combine(AppContext.BaseDirectory, "kjv-llama");

    private static CalibrationText Measure(byte[] bytes)
    {
        ITextTokenizer tokenizer = TokenizerLoader.TryLoad(ReferenceModel)!;
        string text = CalibrationText.Decode(bytes);
        return CalibrationText.Measure(text, tokenizer.Encode(text, addBos: false), tokenizer);
    }

    [Fact]
    public void TheReferenceCalibrationTextPassesQuietly()
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(ReferenceModel, "data", "calibration.txt"));

        CalibrationText measured = Measure(bytes);

        Assert.Null(measured.Warning("calibration.txt"));
        Assert.True(measured.ByteFallbackShare < 0.01, $"{measured}");
    }

    [Fact]
    public void RandomBytesWarnWithTheirRates()
    {
        var bytes = new byte[40_000];
        new Random(15).NextBytes(bytes);

        string? warning = Measure(bytes).Warning("random.bin");

        Assert.NotNull(warning);
        Assert.Contains("random.bin does not look like text", warning);
        Assert.Contains("invalid UTF-8", warning);
        Assert.Contains("byte-fallback", warning);
    }

    [Fact]
    public void TextInALanguageTheTokenizerSpellsByteByByteWarns()
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("起初神创造天地。地是空虚混沌，渊面黑暗；神的灵运行在水面上。", 200)));

        string? warning = Measure(bytes).Warning("genesis-zh.txt");

        Assert.NotNull(warning);
        Assert.Contains("not in the model's language", warning);
    }
}
