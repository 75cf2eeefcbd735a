using System.Text.Json;
using MoESdk.Testing;
using MoESdk.Tokenization;

namespace MoESdk.Tests.Tokenization;

/// <summary>
/// The tokenizer.json an export writes beside a vocab.json + merges.txt tokenizer (the reference model's): read back
/// through the tokenizer.json loader, it gives the same ids for every test string, with BOS in front exactly when
/// tokenizer_config.json asks for it. (transformers reading such a file: tests/transformers/check_exports.py.)
/// </summary>
[Trait("Category", "Unit")]
public sealed class ByteLevelTokenizerJsonTests
{
    private static readonly string[] Strings = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(
            Path.Combine(Repository.Root, "tests", "MoESdk.Tests", "Tokenization", "Reference", "strings.json")))
        .GetProperty("strings").EnumerateArray().Select(s => s.GetString()!).Concat(Corpus.Unseen).Append(Corpus.Training).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WrittenTokenizerJsonTokenizesAsTheFilesItIsMadeFrom(bool addBos)
    {
        using var dir = new TempDirectory();
        foreach (string file in new[] { "vocab.json", "merges.txt" })
        {
            File.Copy(Path.Combine(Repository.ReferenceModel, file), dir.File(file));
        }
        string config = File.ReadAllText(Path.Combine(Repository.ReferenceModel, "tokenizer_config.json"));
        File.WriteAllText(dir.File("tokenizer_config.json"), config.Replace("\"add_bos_token\": false", $"\"add_bos_token\": {(addBos ? "true" : "false")}", StringComparison.Ordinal));
        ITextTokenizer files = TokenizerLoader.TryLoad(dir.Path)!;

        ByteLevelTokenizerJson.Write(dir.Path);
        using JsonDocument written = JsonDocument.Parse(File.ReadAllText(dir.File(ByteLevelTokenizerJson.FileName)));
        Assert.Equal(addBos ? "TemplateProcessing" : "ByteLevel", written.RootElement.GetProperty("post_processor").GetProperty("type").GetString());
        ITextTokenizer json = TokenizerLoader.TryLoad(dir.File(ByteLevelTokenizerJson.FileName))!;

        Assert.Equal(files.BosId, json.BosId);
        foreach (string text in Strings)
        {
            Assert.Equal(files.Encode(text, addBos: false), json.Encode(text, addBos: false));
            Assert.Equal(files.Encode(text, addBos: true), json.Encode(text, addBos: true));
            Assert.Equal(files.Decode(files.Encode(text, addBos: false)), json.Decode(json.Encode(text, addBos: false)));
        }
    }
}
