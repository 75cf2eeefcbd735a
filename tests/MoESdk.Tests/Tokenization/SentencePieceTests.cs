using MoESdk.Loading;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

[Trait("Category", "Unit")]
public sealed class SentencePieceTests
{
    /// <summary>A LLaMA-like model: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, 256 byte pieces, then a few merges.</summary>
    internal static byte[] MinimalModel()
    {
        var pieces = new List<SentencePiece> { new("<unk>", 0, SentencePieceKind.Unknown), new("<s>", 0, SentencePieceKind.Control), new("</s>", 0, SentencePieceKind.Control) };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => new SentencePiece($"<0x{b:X2}>", 0, SentencePieceKind.Byte)));
        string[] normal = ["▁", "t", "h", "e", "a", "▁t", "he", "▁the", "▁a"];
        pieces.AddRange(normal.Select((p, i) => new SentencePiece(p, -i, SentencePieceKind.Normal)));
        return SentencePieceModelWriter.Write(pieces, byteFallback: true, addDummyPrefix: true, unknownId: 0, bosId: 1, eosId: 2);
    }

    internal static ITextTokenizer CreateTokenizer()
    {
        using var stream = new MemoryStream(MinimalModel());
        return SentencePieceTextTokenizer.Load(stream, "tokenizer.model");
    }

    [Fact]
    public void Hand_made_model_loads_from_tokenizer_model_and_round_trips()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("tokenizer.model"), MinimalModel());
        var tokenizer = TokenizerLoader.TryLoad(dir.Path)!;

        Assert.IsType<SentencePieceTextTokenizer>(tokenizer);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal([2], tokenizer.EosIds);
        Assert.Equal(268, tokenizer.VocabSize);
        foreach (var text in Corpus.Unseen.Where(t => !t.StartsWith(' ')))
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true)));
        }
    }

    [Fact]
    public void Dummy_prefix_and_merges_apply()
    {
        var tokenizer = CreateTokenizer();
        var theId = 3 + 256 + 7;
        Assert.Equal([1, theId, theId], tokenizer.Encode("the the", addBos: true));
        // '\n' is not a piece: byte fallback gives <0x0A> at 3 + 10.
        Assert.Contains(13, tokenizer.Encode("the\nthe", addBos: false));
    }

    [Fact]
    public void Corrupt_model_names_the_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("tokenizer.model"), [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var error = Assert.Throws<ModelFormatException>(() => TokenizerLoader.TryLoad(dir.Path));
        Assert.EndsWith("tokenizer.model", error.Path);
    }
}
