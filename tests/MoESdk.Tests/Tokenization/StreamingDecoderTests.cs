using System.Text;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

[Trait("Category", "Unit")]
public sealed class StreamingDecoderTests
{
    [Fact]
    public void Pieces_concatenate_to_the_decoded_text_and_never_split_a_character()
    {
        using var dir = new TempDirectory();
        new BpeTrainer(300).Train(Corpus.Training).Save(dir.Path);
        var tokenizer = ByteLevelBpeTextTokenizer.Load(dir.File("vocab.json"), dir.File("merges.txt"));
        const string text = "And God 😀 said 日本 café\n\nlight";

        var decoder = new StreamingDecoder(tokenizer);
        var printed = new StringBuilder();
        foreach (var id in tokenizer.Encode(text, addBos: false))
        {
            var piece = decoder.Append(id);
            Assert.DoesNotContain('\uFFFD', piece);
            printed.Append(piece);
        }
        printed.Append(decoder.Flush());
        Assert.Equal(text, printed.ToString());
    }

    [Fact]
    public void Prompt_context_keeps_the_space_of_the_first_generated_token()
    {
        var tokenizer = SentencePieceTests.CreateTokenizer();
        var prompt = tokenizer.Encode("the", addBos: true);
        var generated = tokenizer.Encode("the a", addBos: false);

        var decoder = new StreamingDecoder(tokenizer, prompt);
        var text = string.Concat(generated.Select(decoder.Append)) + decoder.Flush();
        Assert.Equal(" the a", text);
    }
}
