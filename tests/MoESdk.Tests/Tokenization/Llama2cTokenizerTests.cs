using System.Text;
using MoESdk.Loading;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

[Trait("Category", "Unit")]
public sealed class Llama2cTokenizerTests
{
    private static List<(byte[] Piece, float Score)> Vocabulary()
    {
        var vocabulary = new List<(byte[], float)> { ("<unk>"u8.ToArray(), 0), ("\n<s>\n"u8.ToArray(), 0), ("\n</s>\n"u8.ToArray(), 0) };
        vocabulary.AddRange(Enumerable.Range(0, 256).Select(b => (Encoding.ASCII.GetBytes($"<0x{b:X2}>"), 0f)));
        string[] pieces = [" ", "t", "h", "e", "a", "d", " t", "he", " the", " a", "é"];
        // Higher scores merge first, as in llama2.c's exported vocabularies.
        vocabulary.AddRange(pieces.Select((p, i) => (Encoding.UTF8.GetBytes(p), (float)i)));
        return vocabulary;
    }

    private static Llama2cTextTokenizer Load(TempDirectory dir)
    {
        Llama2cTokenizerWriter.Write(dir.File("tokenizer.bin"), Vocabulary());
        return Llama2cTextTokenizer.Load(dir.File("tokenizer.bin"));
    }

    [Fact]
    public void Written_file_round_trips_text()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);
        Assert.Equal(270, tokenizer.VocabSize);
        foreach (var text in Corpus.Unseen)
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true)));
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: false)));
        }
    }

    [Fact]
    public void Encodes_like_run_c()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);
        const int offset = 259;
        // " the" and " a" by best score; 'é' is a piece, '😀' falls back to its four bytes.
        Assert.Equal([1, offset + 8, offset + 9, offset + 10, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80], tokenizer.Encode("the aé😀", addBos: true));
        Assert.Equal("the", tokenizer.Decode([1, offset + 8]));
    }

    [Fact]
    public void Adds_bos_on_request_and_finds_pieces_by_text()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);
        const int offset = 259;

        Assert.Equal(offset + 8, tokenizer.TokenToId(" the"));
        Assert.Equal(offset + 10, tokenizer.TokenToId("é"));
        Assert.Null(tokenizer.TokenToId("the a"));
        Assert.Equal([1, offset + 8], tokenizer.Encode("the", addSpecialTokens: true, parseSpecialTokens: true));
        Assert.Equal([offset + 8], tokenizer.Encode("the", addSpecialTokens: false, parseSpecialTokens: false));
    }

    [Fact]
    public void Loader_finds_the_tokenizer_beside_a_checkpoint()
    {
        using var dir = new TempDirectory();
        Llama2cTokenizerWriter.Write(dir.File("tokenizer.bin"), Vocabulary());
        File.WriteAllBytes(dir.File("stories15M.bin"), [0]);
        Assert.IsType<Llama2cTextTokenizer>(TokenizerLoader.TryLoad(dir.File("stories15M.bin")));
    }

    [Fact]
    public void Truncated_file_names_the_file()
    {
        using var dir = new TempDirectory();
        Llama2cTokenizerWriter.Write(dir.File("tokenizer.bin"), Vocabulary());
        var bytes = File.ReadAllBytes(dir.File("tokenizer.bin"));
        File.WriteAllBytes(dir.File("tokenizer.bin"), bytes[..^3]);
        var error = Assert.Throws<ModelFormatException>(() => TokenizerLoader.TryLoad(dir.Path));
        Assert.EndsWith("tokenizer.bin", error.Path);
    }
}
