using System.Text.Json.Nodes;
using MoESdk.Loading;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

/// <summary>The tokenizer.json behaviours the real families depend on, each on a small hand-made file.</summary>
[Trait("Category", "Unit")]
public sealed class TokenizerJsonBehaviorTests
{
    /// <summary>A SentencePiece-style file (LLaMA-2's layout): '▁' for spaces, byte fallback, pieces after the 256 byte tokens.</summary>
    private static JsonObject SentencePieceStyle(string[] pieces, string[] merges, JsonArray? added = null)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (var b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }
        for (var i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = 259 + i;
        }
        return new JsonObject
        {
            ["added_tokens"] = added ?? new JsonArray(AddedToken(0, "<unk>", true), AddedToken(1, "<s>", true), AddedToken(2, "</s>", true)),
            ["normalizer"] = JsonNode.Parse("""{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"""),
            ["post_processor"] = JsonNode.Parse("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}"""),
            ["decoder"] = JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["byte_fallback"] = true, ["fuse_unk"] = true, ["unk_token"] = "<unk>", ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]),
            },
        };
    }

    /// <summary>A byte-level file (GPT-2 / Qwen layout): the 256 byte characters as ids 0–255, then merged pieces.</summary>
    private static JsonObject ByteLevel(string[] pieces, string[] merges, JsonNode preTokenizer, JsonArray? added = null, JsonNode? normalizer = null)
    {
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.ToChar((byte)b).ToString()] = b;
        }
        for (var i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = 256 + i;
        }
        return new JsonObject
        {
            ["added_tokens"] = added ?? new JsonArray(),
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]) },
        };
    }

    private static JsonObject AddedToken(int id, string content, bool special) =>
        new() { ["id"] = id, ["content"] = content, ["special"] = special, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["single_word"] = false };

    private static JsonNode ByteLevelOnly => JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}""")!;

    private static HuggingFaceTextTokenizer Load(TempDirectory dir, JsonObject json, JsonObject? config = null)
    {
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());
        if (config is not null)
        {
            File.WriteAllText(dir.File("tokenizer_config.json"), config.ToJsonString());
        }
        return Assert.IsType<HuggingFaceTextTokenizer>(TokenizerLoader.TryLoad(dir.Path));
    }

    [Fact]
    public void Equal_rank_merges_join_the_leftmost_pair_first()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, SentencePieceStyle(["▁", "?", "??", "▁?"], ["? ?", "▁ ?"]));
        // "▁???": "? ?" ranks first and occurs twice; the leftmost pair wins ("▁ ?? ?"), after which no merge applies.
        // Rightmost first would give "▁ ? ??" and then "▁?" "??".
        Assert.Equal([259, 261, 260], tokenizer.Encode("???", addSpecialTokens: false, parseSpecialTokens: true));
    }

    [Fact]
    public void Special_tokens_in_text_are_matched_and_get_their_own_dummy_prefix_after()
    {
        using var dir = new TempDirectory();
        var added = new JsonArray(AddedToken(0, "<unk>", true), AddedToken(1, "<s>", true), AddedToken(2, "</s>", true), AddedToken(262, "<start_of_turn>", true));
        var tokenizer = Load(dir, SentencePieceStyle(["▁", "a", "▁a"], ["▁ a"], added));

        Assert.Equal([261, 262, 261], tokenizer.Encode("a<start_of_turn>a", addSpecialTokens: false, parseSpecialTokens: true));
        Assert.Equal([1, 261, 2], tokenizer.Encode("a</s>", addSpecialTokens: true, parseSpecialTokens: true));
        var literal = tokenizer.Encode("a<start_of_turn>", addSpecialTokens: false, parseSpecialTokens: false);
        Assert.DoesNotContain(262, literal);
        Assert.Equal("a<start_of_turn>", tokenizer.Decode(literal));
    }

    [Fact]
    public void A_null_bos_token_means_no_bos_and_an_empty_text_still_gets_the_sequence_tokens()
    {
        using var dir = new TempDirectory();
        // Qwen's layout: no template in the post-processor, and a null bos_token in the config.
        var json = SentencePieceStyle(["▁", "a", "▁a"], ["▁ a"]);
        json["post_processor"] = null;
        var tokenizer = Load(dir, json, new JsonObject { ["bos_token"] = null, ["eos_token"] = "</s>" });
        Assert.Null(tokenizer.BosId);
        Assert.Equal([261], tokenizer.Encode("a", addBos: true));
        Assert.Equal([], tokenizer.Encode("", addSpecialTokens: true, parseSpecialTokens: true));

        using var other = new TempDirectory();
        var withBos = Load(other, SentencePieceStyle(["▁", "a", "▁a"], ["▁ a"]), new JsonObject { ["bos_token"] = "<s>", ["add_bos_token"] = true, ["add_eos_token"] = true, ["eos_token"] = "</s>" });
        Assert.Equal([1, 2], withBos.Encode("", addSpecialTokens: true, parseSpecialTokens: true));
        Assert.Equal([1, 261, 2], withBos.Encode("a", addSpecialTokens: true, parseSpecialTokens: true));
    }

    [Fact]
    public void Llama_outside_legacy_mode_puts_one_space_marker_before_the_text_only()
    {
        using var legacy = new TempDirectory();
        using var current = new TempDirectory();
        string[] pieces = ["▁", "a", "▁a"];
        var legacyTokenizer = Load(legacy, SentencePieceStyle(pieces, ["▁ a"]), new JsonObject { ["tokenizer_class"] = "LlamaTokenizerFast", ["legacy"] = true });
        var tokenizer = Load(current, SentencePieceStyle(pieces, ["▁ a"]), new JsonObject { ["tokenizer_class"] = "LlamaTokenizerFast", ["legacy"] = false });

        // Legacy: every piece between special tokens gets its '▁'. Otherwise only the first, and a lone leading '▁'
        // before a special token is dropped.
        Assert.Equal([261, 1, 261], legacyTokenizer.Encode("a<s>a", addSpecialTokens: false, parseSpecialTokens: true));
        Assert.Equal([261, 1, 260], tokenizer.Encode("a<s>a", addSpecialTokens: false, parseSpecialTokens: true));
        Assert.Equal([1, 260], tokenizer.Encode("<s>a", addSpecialTokens: false, parseSpecialTokens: true));
    }

    [Fact]
    public void Nfc_normalizer_composes_combining_marks()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, ByteLevel(["Ã©"], ["Ã ©"], ByteLevelOnly, normalizer: new JsonObject { ["type"] = "NFC" }));
        Assert.Equal([256], tokenizer.Encode("e\u0301", addSpecialTokens: false, parseSpecialTokens: true));
        Assert.Equal("é", tokenizer.Decode([256]));
    }

    [Fact]
    public void Decode_keeps_added_tokens_that_are_not_special_and_drops_special_ones()
    {
        using var dir = new TempDirectory();
        var added = new JsonArray(AddedToken(300, "<think>", false), AddedToken(301, "<|im_end|>", true), AddedToken(302, "\n\n", false));
        var tokenizer = Load(dir, ByteLevel([], [], ByteLevelOnly, added));

        var ids = tokenizer.Encode("<think>a\n\nb<|im_end|>", addSpecialTokens: false, parseSpecialTokens: true);
        Assert.Equal([300, 'a', 302, 'b', 301], ids);
        Assert.Equal("<think>a\n\nb", tokenizer.Decode(ids));
        // Unparsed, the special marker is text while the plain added tokens still match.
        Assert.Equal([300, 'a', 302, 'b', .. "<|im_end|>".Select(c => (int)c)], tokenizer.Encode("<think>a\n\nb<|im_end|>", addSpecialTokens: false, parseSpecialTokens: false));
    }

    [Fact]
    public void Split_sequence_applies_every_split_in_turn_keeping_the_text_between_matches()
    {
        using var dir = new TempDirectory();
        // DeepSeek-V3's layout: digits in threes, then letter runs, then ByteLevel without its own regex.
        var preTokenizer = JsonNode.Parse("""
            {"type":"Sequence","pretokenizers":[
              {"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},
              {"type":"Split","pattern":{"Regex":" ?\\p{L}+"},"behavior":"Isolated","invert":false},
              {"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}
            """)!;
        var tokenizer = Load(dir, ByteLevel(["Ġf", "ox", "12", "123"], ["Ġ f", "o x", "1 2", "12 3"], preTokenizer));
        var ids = tokenizer.Encode("The fox1234", addSpecialTokens: false, parseSpecialTokens: true);
        Assert.Equal(['T', 'h', 'e', 256, 257, 259, '4'], ids);
        Assert.Equal("The fox1234", tokenizer.Decode(ids));
    }

    [Theory]
    [InlineData("Isolated", false, "a|,|b|,|,|c")]
    [InlineData("Removed", false, "a|b|c")]
    [InlineData("MergedWithPrevious", false, "a,|b,|,|c")]
    [InlineData("MergedWithNext", false, "a|,b|,|,c")]
    [InlineData("Contiguous", false, "a|,|b|,,|c")]
    [InlineData("Removed", true, ",|,|,")]
    public void Split_behaviors_follow_the_hugging_face_definitions(string behavior, bool invert, string expected)
    {
        var splitter = new PatternWordSplitter(JsCompatibleRegex.Literal(","), Enum.Parse<SplitBehavior>(behavior), invert);
        var words = new List<string>();
        splitter.Split("a,b,,c", 0, words);
        Assert.Equal(expected, string.Join('|', words));
    }

    [Fact]
    public void Regex_matches_code_points_and_javascript_whitespace()
    {
        Assert.Equal([(0, 4)], JsCompatibleRegex.Create(@"\p{L}+").Matches("a𝐁c"));
        Assert.Equal([(1, 3)], JsCompatibleRegex.Create(@"[\p{P}\p{S}]+").Matches("a😀!"));
        Assert.Empty(JsCompatibleRegex.Create(@"\s").Matches("\u0085"));
        Assert.Single(JsCompatibleRegex.Create(@"\s").Matches("\uFEFF"));
        Assert.Equal([(0, 2)], JsCompatibleRegex.Create("(?i:'s|'t|'re|'ve|'m|'ll|'d)").Matches("'S"));
        Assert.Empty(JsCompatibleRegex.Create("(?i:'s|'t|'re|'ve|'m|'ll|'d)").Matches("'\u017F"));
    }

    [Theory]
    [InlineData("normalizer", """{"type":"Precompiled","precompiled_charsmap":""}""", "normalizer type 'Precompiled'")]
    [InlineData("pre_tokenizer", """{"type":"BertPreTokenizer"}""", "pre_tokenizer type 'BertPreTokenizer'")]
    [InlineData("decoder", """{"type":"WordPiece","prefix":"##"}""", "decoder type 'WordPiece'")]
    [InlineData("pre_tokenizer", """{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"}""", "pre_tokenizer Split pattern")]
    [InlineData("pre_tokenizer", """{"type":"Split","pattern":{"String":","},"behavior":"Sideways"}""", "Split behavior 'Sideways'")]
    public void Unsupported_or_malformed_constructs_name_the_file_and_the_construct(string section, string component, string construct)
    {
        using var dir = new TempDirectory();
        var json = ByteLevel([], [], ByteLevelOnly);
        json[section] = JsonNode.Parse(component);
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());
        var error = Assert.Throws<ModelFormatException>(() => TokenizerLoader.TryLoad(dir.Path));
        Assert.EndsWith("tokenizer.json", error.Path);
        Assert.Contains(construct, error.Problem);
    }
}
