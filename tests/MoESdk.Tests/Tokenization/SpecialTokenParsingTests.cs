using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

/// <summary>Every tokenizer matches special-token strings in text only when asked, and finds tokens by their text.</summary>
[Trait("Category", "Unit")]
public sealed class SpecialTokenParsingTests
{
    [Fact]
    public void Byte_level_bpe_matches_special_strings_only_when_parsing()
    {
        using var dir = new TempDirectory();
        new BpeTrainer(300).Train(Corpus.Training).Save(dir.Path);
        var tokenizer = ByteLevelBpeTextTokenizer.Load(dir.File("vocab.json"), dir.File("merges.txt"));

        var parsed = tokenizer.Encode("God</s>God", addSpecialTokens: false, parseSpecialTokens: true);
        var literal = tokenizer.Encode("God</s>God", addSpecialTokens: false, parseSpecialTokens: false);

        Assert.Equal(2, tokenizer.TokenToId("</s>"));
        Assert.Contains(2, parsed);
        Assert.DoesNotContain(2, literal);
        Assert.Equal("God</s>God", tokenizer.Decode(literal));
        Assert.Equal([1, .. literal], tokenizer.Encode("God</s>God", addSpecialTokens: true, parseSpecialTokens: false));
        Assert.Null(tokenizer.TokenToId("no such token"));
    }

    [Fact]
    public void Sentencepiece_matches_special_strings_only_when_parsing()
    {
        var tokenizer = SentencePieceTests.CreateTokenizer();
        var theId = 3 + 256 + 7;

        Assert.Equal([1, theId, 2, theId], tokenizer.Encode("the</s>the", addSpecialTokens: true, parseSpecialTokens: true));
        var literal = tokenizer.Encode("the</s>", addSpecialTokens: false, parseSpecialTokens: false);
        Assert.DoesNotContain(2, literal);
        Assert.Equal("the</s>", tokenizer.Decode(literal));
        Assert.Equal(theId, tokenizer.TokenToId("▁the"));
        Assert.Equal(2, tokenizer.TokenToId("</s>"));
        Assert.Null(tokenizer.TokenToId("the the"));
    }
}
