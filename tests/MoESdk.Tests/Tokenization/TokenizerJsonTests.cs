using System.Text.Json.Nodes;
using MoESdk.Loading;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

[Trait("Category", "Unit")]
public sealed class TokenizerJsonTests
{
    /// <summary>A GPT-2 style tokenizer.json built from a trained vocabulary, specials only in added_tokens.</summary>
    private static void WriteByteLevel(TempDirectory dir)
    {
        var trained = new BpeTrainer(320).Train(Corpus.Training);
        var vocab = new JsonObject();
        for (var id = 3; id < trained.Tokens.Count; id++)
        {
            vocab[trained.Tokens[id]] = id;
        }
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. trained.Merges.Select(m => (JsonNode)new JsonArray(m.Left, m.Right))]),
            },
        };
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());
    }

    [Fact]
    public void Byte_level_bpe_round_trips_with_bos_and_eos_from_added_tokens()
    {
        using var dir = new TempDirectory();
        WriteByteLevel(dir);
        var tokenizer = TokenizerLoader.TryLoad(dir.Path)!;

        Assert.IsType<HuggingFaceTextTokenizer>(tokenizer);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal([2], tokenizer.EosIds);
        foreach (var text in Corpus.Unseen)
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true)));
        }
    }

    [Fact]
    public void Sentencepiece_style_bpe_merges_by_rank_with_byte_fallback()
    {
        using var dir = new TempDirectory();
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (var b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }
        string[] pieces = ["▁", "t", "h", "e", "a", "▁t", "he", "▁the", "▁a"];
        for (var i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = 259 + i;
        }
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<unk>", ["special"] = true },
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" }, new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }) },
            ["decoder"] = JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"""),
            ["model"] = new JsonObject { ["type"] = "BPE", ["byte_fallback"] = true, ["unk_token"] = "<unk>", ["vocab"] = vocab, ["merges"] = new JsonArray("▁ t", "h e", "▁t he", "▁ a") },
        };
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());

        var tokenizer = TokenizerLoader.TryLoad(dir.Path)!;
        Assert.Equal([1, 266, 266], tokenizer.Encode("the the", addBos: true));
        Assert.Equal("the a\n😀", tokenizer.Decode(tokenizer.Encode("the a\n😀", addBos: true)));
    }

    [Fact]
    public void Unigram_is_reported_as_not_supported()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), """{"model":{"type":"Unigram","vocab":[]}}""");
        var error = Assert.Throws<ModelFormatException>(() => TokenizerLoader.TryLoad(dir.Path));
        Assert.Contains("not supported", error.Problem);
        Assert.Contains("Unigram", error.Problem);
    }

    [Fact]
    public void Invalid_json_names_the_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), "{ not json");
        var error = Assert.Throws<ModelFormatException>(() => TokenizerLoader.TryLoad(dir.Path));
        Assert.EndsWith("tokenizer.json", error.Path);
    }

    [Fact]
    public void Folder_without_tokenizer_gives_null()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), "{}");
        Assert.Null(TokenizerLoader.TryLoad(dir.Path));
        Assert.Null(TokenizerLoader.TryLoad(dir.File("missing")));
    }
}
