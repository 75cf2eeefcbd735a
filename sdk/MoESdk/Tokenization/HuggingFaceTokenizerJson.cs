using System.Text;
using System.Text.Json;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> with a BPE model, and the <c>tokenizer_config.json</c> beside it, into a
/// <see cref="HuggingFaceTextTokenizer"/>. The normalizers, pre-tokenizers, post-processors and decoders that
/// byte-level (GPT-2, LLaMA-3, Qwen, DeepSeek) and SentencePiece-style (LLaMA-2, Mistral, Gemma) files use are
/// supported; anything else is reported, naming the file and the construct.
/// </summary>
internal static class HuggingFaceTokenizerJson
{
    public static ITextTokenizer Load(string path)
    {
        var root = ReadObject(path) ?? throw new ModelFormatException(path, "the file does not exist");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "no \"model\" object; not a Hugging Face tokenizer.json");
        }
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
        {
            throw new ModelFormatException(path, $"not supported: tokenizer model type '{type}'; only BPE models (byte-level or SentencePiece-style) can be loaded");
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var config = ReadObject(configPath);
        try
        {
            return new Reader(path, root, model, config, directory).Read();
        }
        // ArgumentException: a vocabulary that names one token twice.
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            throw new ModelFormatException(path, $"the tokenizer is incomplete or malformed: {e.Message}", e);
        }
    }

    private static JsonElement? ReadObject(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
            {
                // JsonDocument checks a string's UTF-8 only when the string is read, and then throws InvalidOperationException.
                throw new ModelFormatException(path, "not UTF-8 text; the file is corrupt");
            }
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new ModelFormatException(path, "the top level is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>One tokenizer.json being read; errors name its path.</summary>
    private sealed class Reader(string path, JsonElement root, JsonElement model, JsonElement? config, string directory)
    {
        public HuggingFaceTextTokenizer Read()
        {
            var ids = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
            var vocabulary = new Dictionary<string, int>(ids, StringComparer.Ordinal);
            var added = root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(x => new AddedToken(
                    x.GetProperty("content").GetString()!, x.GetProperty("id").GetInt32(), Flag(x, "special"), Flag(x, "lstrip"), Flag(x, "rstrip"))).ToList()
                : [];
            // Added tokens stand over the vocabulary, as the reference resolves a token to its id.
            foreach (var token in added)
            {
                ids[token.Content] = token.Id;
            }
            CheckIds(ids.Values);

            var specialIds = added.Where(x => x.Special).Select(x => x.Id).ToHashSet();
            foreach (var token in ConfigStrings("additional_special_tokens"))
            {
                if (ids.TryGetValue(token, out var id))
                {
                    specialIds.Add(id);
                }
            }

            var specials = SpecialTokenFiles.Read(directory, vocabulary, added.Select(x => KeyValuePair.Create(x.Content, x.Id)));
            var (prefix, suffix) = SequenceTokens(ids, specials);

            // LLaMA's tokenizer outside legacy mode ignores the file's normalizer and puts '▁' only before the text.
            var sentencePieceSpaces = TokenizerClass() == "LlamaTokenizer" && config is { } c && c.TryGetProperty("legacy", out var legacy) && legacy.ValueKind == JsonValueKind.False;
            var normalizer = sentencePieceSpaces ? null : Section("normalizer", Normalizer);
            var splitter = sentencePieceSpaces ? new MetaspaceWordSplitter("▁", addPrefixSpace: true, prependScheme: "first") : Section("pre_tokenizer", Splitter);
            var decoder = Section("decoder", element => Decoder(element, added.Select(x => x.Content).ToHashSet(StringComparer.Ordinal)));

            foreach (var option in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            {
                if (model.TryGetProperty(option, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0)
                {
                    throw Unsupported($"the BPE model's \"{option}\"");
                }
            }
            var unknown = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String && ids.TryGetValue(u.GetString()!, out var unknownId) ? unknownId : (int?)null;
            var bpe = new BpeModel(ids, model.GetProperty("merges").EnumerateArray().Select(Merge).ToList(), unknown,
                Flag(model, "fuse_unk"), Flag(model, "byte_fallback"), Flag(model, "ignore_merges"));

            return new HuggingFaceTextTokenizer(new HuggingFaceTokenizerParts(
                ids, added, specialIds, normalizer, splitter, bpe, decoder, prefix, suffix, sentencePieceSpaces, specials.BosId, specials.EosIds));
        }

        // The vocabulary size is the largest id + 1: ids far beyond the number of tokens are a corrupt or hostile file that
        // would make every table sized by it gigabytes. Real files number their tokens densely from 0.
        private void CheckIds(IEnumerable<int> values)
        {
            int[] all = values.Distinct().ToArray();
            long limit = (2L * all.Length) + 1024;
            foreach (int id in all)
            {
                if (id < 0 || id >= limit)
                {
                    throw new ModelFormatException(path, $"token id {id} is outside 0..{limit - 1} for {all.Length} tokens; the file is corrupt");
                }
            }
        }

        /// <summary>
        /// The ids around an encoded sequence: tokenizer_config.json's add_bos_token and add_eos_token where it has
        /// them (as the LLaMA and Gemma tokenizers rebuild their post-processor from them), otherwise the special
        /// tokens of the post-processor's single-sequence template.
        /// </summary>
        private (int[] Prefix, int[] Suffix) SequenceTokens(Dictionary<string, int> ids, SpecialTokens specials)
        {
            var prefix = new List<int>();
            var suffix = new List<int>();
            if (root.TryGetProperty("post_processor", out var processor) && processor.ValueKind == JsonValueKind.Object)
            {
                Template(processor, ids, prefix, suffix);
            }
            if (ConfigFlag("add_bos_token") is { } addBos)
            {
                prefix = addBos && specials.BosId is { } bos ? [bos] : [];
            }
            if (ConfigFlag("add_eos_token") is { } addEos)
            {
                suffix = addEos && specials.EosIds.Count > 0 ? [specials.EosIds[0]] : [];
            }
            return ([.. prefix], [.. suffix]);
        }

        private void Template(JsonElement processor, Dictionary<string, int> ids, List<int> prefix, List<int> suffix)
        {
            switch (TypeOf(processor, "post_processor"))
            {
                case "Sequence":
                    foreach (var inner in processor.GetProperty("processors").EnumerateArray())
                    {
                        Template(inner, ids, prefix, suffix);
                    }
                    break;
                case "ByteLevel":
                    break;
                case "TemplateProcessing":
                    var specialTokens = processor.TryGetProperty("special_tokens", out var map) ? map : default;
                    var seenSequence = false;
                    foreach (var item in processor.GetProperty("single").EnumerateArray())
                    {
                        if (item.TryGetProperty("Sequence", out _))
                        {
                            seenSequence = true;
                            continue;
                        }
                        var name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                        IEnumerable<int> tokenIds = specialTokens.ValueKind == JsonValueKind.Object && specialTokens.TryGetProperty(name, out var entry)
                            ? entry.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())
                            : ids.TryGetValue(name, out var id) ? [id] : throw new ModelFormatException(path, $"the post-processor template names '{name}', which is not a token");
                        (seenSequence ? suffix : prefix).AddRange(tokenIds);
                    }
                    break;
                case var other:
                    throw Unsupported($"post_processor type '{other}'");
            }
        }

        private TextNormalizer Normalizer(JsonElement element) => TypeOf(element, "normalizer") switch
        {
            "Sequence" => new SequenceNormalizer(element.GetProperty("normalizers").EnumerateArray().Select(Normalizer).ToList()),
            "NFC" => new UnicodeFormNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeFormNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeFormNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeFormNormalizer(NormalizationForm.FormKD),
            "Replace" => new ReplaceNormalizer(Pattern(element, "normalizer Replace"), element.GetProperty("content").GetString()!),
            "Prepend" => new PrependNormalizer(element.GetProperty("prepend").GetString()!),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(Flag(element, "strip_left"), Flag(element, "strip_right")),
            var other => throw Unsupported($"normalizer type '{other}'"),
        };

        private WordSplitter Splitter(JsonElement element) => TypeOf(element, "pre_tokenizer") switch
        {
            "Sequence" => new SequenceWordSplitter(element.GetProperty("pretokenizers").EnumerateArray().Select(Splitter).ToList()),
            "Split" => new PatternWordSplitter(Pattern(element, "pre_tokenizer Split"), Behavior(element), Flag(element, "invert")),
            "ByteLevel" => new ByteLevelWordSplitter(Flag(element, "add_prefix_space"), !element.TryGetProperty("use_regex", out var regex) || regex.ValueKind != JsonValueKind.False),
            "Metaspace" => new MetaspaceWordSplitter(
                element.TryGetProperty("replacement", out var r) ? r.GetString()! : "▁",
                !element.TryGetProperty("add_prefix_space", out var prefix) || prefix.ValueKind != JsonValueKind.False,
                element.TryGetProperty("prepend_scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String ? scheme.GetString()! : "always"),
            "Digits" => new DigitsWordSplitter(Flag(element, "individual_digits")),
            var other => throw Unsupported($"pre_tokenizer type '{other}'"),
        };

        private TokenDecoder Decoder(JsonElement element, IReadOnlySet<string> addedTokens) => TypeOf(element, "decoder") switch
        {
            "Sequence" => new SequenceTokenDecoder(element.GetProperty("decoders").EnumerateArray().Select(d => Decoder(d, addedTokens)).ToList()),
            "ByteLevel" => new ByteLevelTokenDecoder(addedTokens),
            "Replace" => new ReplaceTokenDecoder(Pattern(element, "decoder Replace"), element.GetProperty("content").GetString()!),
            "ByteFallback" => new ByteFallbackTokenDecoder(),
            "Fuse" => new FuseTokenDecoder(),
            "Strip" => new StripTokenDecoder(element.GetProperty("content").GetString() is [var c] ? c : throw Unsupported("a Strip decoder whose content is not one character"),
                element.GetProperty("start").GetInt32(), element.GetProperty("stop").GetInt32()),
            "Metaspace" => new MetaspaceTokenDecoder(
                element.TryGetProperty("replacement", out var r) ? r.GetString()! : "▁",
                !element.TryGetProperty("add_prefix_space", out var prefix) || prefix.ValueKind != JsonValueKind.False),
            var other => throw Unsupported($"decoder type '{other}'"),
        };

        private SplitBehavior Behavior(JsonElement element)
        {
            var name = element.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
            return Enum.TryParse<SplitBehavior>(name, ignoreCase: true, out var behavior) && !int.TryParse(name, out _)
                ? behavior
                : throw Unsupported($"Split behavior '{name}'");
        }

        private JsCompatibleRegex Pattern(JsonElement element, string construct)
        {
            var pattern = element.GetProperty("pattern");
            if (pattern.TryGetProperty("String", out var literal))
            {
                return JsCompatibleRegex.Literal(literal.GetString()!);
            }
            if (pattern.TryGetProperty("Regex", out var regex))
            {
                try
                {
                    return JsCompatibleRegex.Create(regex.GetString()!);
                }
                catch (ArgumentException e)
                {
                    throw new ModelFormatException(path, $"the {construct} pattern is not a regular expression that can be used: {e.Message}", e);
                }
            }
            throw Unsupported($"a {construct} pattern that is neither \"String\" nor \"Regex\"");
        }

        private T? Section<T>(string name, Func<JsonElement, T> read) where T : class =>
            root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Object ? read(element) : null;

        private string TypeOf(JsonElement element, string section) =>
            element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()!
                : throw new ModelFormatException(path, $"a {section} has no \"type\"");

        private ModelFormatException Unsupported(string construct) => new(path, $"not supported: {construct}");

        private string? TokenizerClass() =>
            config is { } c && c.TryGetProperty("tokenizer_class", out var name) && name.ValueKind == JsonValueKind.String
                ? name.GetString()!.EndsWith("Fast", StringComparison.Ordinal) ? name.GetString()![..^4] : name.GetString()
                : null;

        private bool? ConfigFlag(string name) =>
            config is { } c && c.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

        private IEnumerable<string> ConfigStrings(string name) =>
            config is { } c && c.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
                ? value.EnumerateArray().Select(SpecialTokenFiles.TokenContent).OfType<string>()
                : [];

        private static bool Flag(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

        /// <summary>Merges are "a b" strings, or [a, b] arrays in files written by tokenizers 0.20 and later.</summary>
        private static (string, string) Merge(JsonElement merge)
        {
            if (merge.ValueKind == JsonValueKind.Array)
            {
                return (merge[0].GetString()!, merge[1].GetString()!);
            }
            var parts = (merge.GetString() ?? throw new FormatException("a merge is null")).Split(' ');
            return parts.Length >= 2 ? (parts[0], parts[1]) : throw new FormatException($"the merge '{merge.GetString()}' is not two tokens");
        }
    }
}
