using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoESdk.Tokenization;

/// <summary>
/// What <see cref="BpeTrainer"/> learned: tokens in id order (special tokens first, then the 256 bytes, then merge
/// results) in GPT-2's byte-level alphabet, and the merges in the order they were learned.
/// </summary>
internal sealed class TrainedBpeVocabulary
{
    internal TrainedBpeVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges, string unknownToken, string bosToken, string eosToken)
    {
        Tokens = tokens;
        Merges = merges;
        UnknownToken = unknownToken;
        BosToken = bosToken;
        EosToken = eosToken;
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    public string UnknownToken { get; }

    public string BosToken { get; }

    public string EosToken { get; }

    /// <summary>
    /// Writes Hugging Face <c>vocab.json</c>, <c>merges.txt</c> and <c>tokenizer_config.json</c> (GPT2Tokenizer with
    /// the special tokens), which <see cref="ByteLevelBpeTextTokenizer.Load"/> and transformers both read.
    /// </summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        var vocabulary = new JsonObject();
        for (var id = 0; id < Tokens.Count; id++)
        {
            vocabulary[Tokens[id]] = id;
        }
        File.WriteAllText(Path.Combine(directory, "vocab.json"), vocabulary.ToJsonString(options));

        File.WriteAllLines(Path.Combine(directory, "merges.txt"), ["#version: 0.2", .. Merges.Select(m => $"{m.Left} {m.Right}")]);

        var added = new JsonObject();
        // The trainer gives the special tokens the first ids.
        string[] specials = [UnknownToken, BosToken, EosToken];
        for (var id = 0; id < specials.Length; id++)
        {
            added[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject { ["content"] = specials[id], ["special"] = true };
        }
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["add_prefix_space"] = false,
            // Pretraining reads the text as one stream without BOS, and the config.json it writes names no BOS id, so
            // MoESdk puts none before a prompt; Hugging Face tokenizers must not either.
            ["add_bos_token"] = false,
            ["unk_token"] = UnknownToken,
            ["bos_token"] = BosToken,
            ["eos_token"] = EosToken,
            ["added_tokens_decoder"] = added,
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString(options));
    }
}
