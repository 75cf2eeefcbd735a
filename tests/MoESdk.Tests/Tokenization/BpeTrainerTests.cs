using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

[Trait("Category", "Unit")]
public sealed class BpeTrainerTests
{
    private static string LargeCorpus => string.Concat(Enumerable.Repeat(Corpus.Training + "\n", 20));

    [Fact]
    public void Trained_vocabulary_round_trips_any_text_through_the_loaded_tokenizer()
    {
        using var dir = new TempDirectory();
        new BpeTrainer(400).Train(LargeCorpus).Save(dir.Path);
        var tokenizer = ByteLevelBpeTextTokenizer.Load(dir.File("vocab.json"), dir.File("merges.txt"));

        foreach (var text in Corpus.Unseen.Append(Corpus.Training))
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: false)));
        }
    }

    [Fact]
    public void Special_tokens_come_from_the_written_config()
    {
        using var dir = new TempDirectory();
        new BpeTrainer(300).Train(LargeCorpus).Save(dir.Path);
        var tokenizer = ByteLevelBpeTextTokenizer.Load(dir.File("vocab.json"), dir.File("merges.txt"));

        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal([2], tokenizer.EosIds);
        Assert.Equal(300, tokenizer.VocabSize);
        var ids = tokenizer.Encode("And God", addBos: true);
        Assert.Equal(1, ids[0]);
        Assert.Equal("And God", tokenizer.Decode([.. ids, 2]));
    }

    [Fact]
    public void Merges_compress_training_like_text()
    {
        using var dir = new TempDirectory();
        var vocabulary = new BpeTrainer(380).Train(LargeCorpus);
        vocabulary.Save(dir.Path);
        var tokenizer = ByteLevelBpeTextTokenizer.Load(dir.File("vocab.json"), dir.File("merges.txt"));

        const string text = "And God saw the light, and the darkness he called Night.";
        var ids = tokenizer.Encode(text, addBos: false);
        Assert.True(ids.Count < text.Length / 3.0, $"{ids.Count} tokens for {text.Length} chars");
        Assert.Equal(380, vocabulary.Tokens.Count);
        Assert.Contains("ĠGod", vocabulary.Tokens);
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var first = new BpeTrainer(350).Train(LargeCorpus);
        var second = new BpeTrainer(350).Train(LargeCorpus);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.Equal(first.Merges, second.Merges);
    }

    [Fact]
    public void Small_corpus_stops_when_no_pair_is_left()
    {
        var vocabulary = new BpeTrainer(10_000).Train("ab ab");
        Assert.True(vocabulary.Tokens.Count < 10_000);
        Assert.Equal(vocabulary.Tokens.Distinct().Count(), vocabulary.Tokens.Count);
    }
}
