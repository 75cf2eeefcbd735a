using System.Text.Json;

namespace MoESdk.Tokenization;

/// <summary>
/// Writes a GPT-2 style byte-level BPE tokenizer (<c>vocab.json</c> + <c>merges.txt</c>, special tokens from
/// tokenizer_config.json) as the Hugging Face <c>tokenizers</c> serialization, <c>tokenizer.json</c>. transformers 5
/// instantiates the tokenizers of some model types (Mistral, Mixtral) only from that file, so an exported folder
/// carries it; the same tokens as the two files it is made from.
/// </summary>
internal static class ByteLevelTokenizerJson
{
    public const string FileName = "tokenizer.json";

    /// <summary>Writes <c>tokenizer.json</c> into <paramref name="folder"/> from the vocab.json, merges.txt and tokenizer_config.json there.</summary>
    public static void Write(string folder)
    {
        Dictionary<string, int> vocabulary = ByteLevelBpeTextTokenizer.ReadVocabulary(Path.Combine(folder, "vocab.json"));
        List<string> merges = ByteLevelBpeTextTokenizer.ReadMerges(Path.Combine(folder, "merges.txt"));
        SpecialTokens specials = SpecialTokenFiles.Read(folder, vocabulary, []);
        (bool prefixSpace, bool addBos) = TokenizerConfigFlags(folder);
        // BOS in front only where tokenizer_config asks for it, as the slow tokenizer built from the two files does.
        string? bos = addBos && specials.BosId is { } bosId
            ? specials.Ids.First(pair => pair.Value == bosId).Key
            : null;

        using var stream = File.Create(Path.Combine(folder, FileName));
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        foreach ((string content, int id) in specials.Ids.OrderBy(pair => pair.Value))
        {
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", content);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteNull("normalizer");
        WriteByteLevel(json, "pre_tokenizer", prefixSpace, trimOffsets: true);
        if (bos is null)
        {
            WriteByteLevel(json, "post_processor", prefixSpace, trimOffsets: false);
        }
        else
        {
            WriteBosTemplate(json, bos, specials.BosId!.Value);
        }
        WriteByteLevel(json, "decoder", prefixSpace, trimOffsets: true);
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteString("continuing_subword_prefix", "");
        json.WriteString("end_of_word_suffix", "");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteBoolean("ignore_merges", false);
        json.WriteStartObject("vocab");
        foreach ((string token, int id) in vocabulary.OrderBy(pair => pair.Value))
        {
            json.WriteNumber(token, id);
        }
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (string merge in merges)
        {
            json.WriteStringValue(merge);
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteByteLevel(Utf8JsonWriter json, string key, bool prefixSpace, bool trimOffsets)
    {
        json.WriteStartObject(key);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", prefixSpace);
        json.WriteBoolean("trim_offsets", trimOffsets);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }

    private static void WriteBosTemplate(Utf8JsonWriter json, string bos, int bosId)
    {
        json.WriteStartObject("post_processor");
        json.WriteString("type", "TemplateProcessing");
        foreach (string key in new[] { "single", "pair" })
        {
            json.WriteStartArray(key);
            foreach (string sequence in key == "single" ? ["A"] : new[] { "A", "B" })
            {
                json.WriteStartObject();
                json.WriteStartObject("SpecialToken");
                json.WriteString("id", bos);
                json.WriteNumber("type_id", 0);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteStartObject();
                json.WriteStartObject("Sequence");
                json.WriteString("id", sequence);
                json.WriteNumber("type_id", 0);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteStartObject("special_tokens");
        json.WriteStartObject(bos);
        json.WriteString("id", bos);
        json.WriteStartArray("ids");
        json.WriteNumberValue(bosId);
        json.WriteEndArray();
        json.WriteStartArray("tokens");
        json.WriteStringValue(bos);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // tokenizer_config.json's add_prefix_space and add_bos_token; false where the file or the key is missing.
    private static (bool PrefixSpace, bool AddBos) TokenizerConfigFlags(string folder)
    {
        string path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path))
        {
            return (false, false);
        }
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(path));
        bool Flag(string key) => config.RootElement.TryGetProperty(key, out JsonElement value) && value.ValueKind == JsonValueKind.True;
        return (Flag("add_prefix_space"), Flag("add_bos_token"));
    }
}
