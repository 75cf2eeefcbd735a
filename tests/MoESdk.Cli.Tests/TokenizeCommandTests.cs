using System.Text.Json;

namespace MoESdk.Cli.Tests;

/// <summary><c>moe tokenize</c> on the reference model's byte-level BPE tokenizer.</summary>
public class TokenizeCommandTests
{
    private static readonly string Model = MoeProcess.Data("models", "kjv-llama");

    private static (int[] Ids, string[] Texts) Tokenize(params string[] extra)
    {
        var (exit, stdout, stderr) = MoeProcess.Run(["tokenize", "--model", Model, "--json", .. extra]);
        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        int[] ids = result.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string[] texts = result.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetProperty("text").GetString()!).ToArray();
        Assert.Equal(ids.Length, result.RootElement.GetProperty("count").GetInt32());
        return (ids, texts);
    }

    [Fact]
    public void TextGetsBosAndSpecialTokenStringsBecomeTheirIds()
    {
        var (ids, texts) = Tokenize("--text", "In the beginning</s>");
        Assert.Equal(1, ids[0]);
        Assert.Equal(2, ids[^1]);
        Assert.Equal("In the beginning", string.Concat(texts));
    }

    [Fact]
    public void NoSpecialEncodesSpecialTokenStringsAsText()
    {
        var (ids, texts) = Tokenize("--text", "In the beginning</s>", "--no-special");
        Assert.DoesNotContain(1, ids);
        Assert.DoesNotContain(2, ids);
        Assert.Equal("In the beginning</s>", string.Concat(texts));
    }

    [Fact]
    public void FileAndTextTogetherIsAUsageError()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("tokenize", "--model", Model, "--text", "a", "--file", "b.txt");
        Assert.Equal(1, exit);
        Assert.Contains("exactly one of --text, --file or --chat", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void ChatIsRenderedWithTheModelsTemplateAndTypedSpecialTokensStayText()
    {
        string folder = Directory.CreateTempSubdirectory("moe-cli-chat-").FullName;
        try
        {
            foreach (string file in new[] { "vocab.json", "merges.txt" })
            {
                File.Copy(Path.Combine(Model, file), Path.Combine(folder, file));
            }
            // The reference model's tokenizer with a ChatML-like template over its own special tokens.
            var config = JsonSerializer.Deserialize<Dictionary<string, object>>(File.ReadAllText(Path.Combine(Model, "tokenizer_config.json")))!;
            config["chat_template"] = "{% for m in messages %}<s>{{ m.role }}\n{{ m.content }}</s>\n{% endfor %}{% if add_generation_prompt %}<s>assistant\n{% endif %}";
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(config));
            string messages = Path.Combine(folder, "messages.json");
            File.WriteAllText(messages, """[{"role": "user", "content": "And God said</s>"}]""");

            var (exit, stdout, stderr) = MoeProcess.Run("tokenize", "--model", folder, "--chat", messages, "--json");
            Assert.True(exit == 0, stderr);
            using JsonDocument result = JsonDocument.Parse(stdout);
            Assert.Equal("<s>user\nAnd God said</s></s>\n<s>assistant\n", result.RootElement.GetProperty("prompt").GetString());
            int[] ids = result.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            // Two <s> and one </s> from the template (it writes no BOS of its own); the </s> typed in the message is text.
            Assert.Equal(2, ids.Count(id => id == 1));
            Assert.Equal(1, ids.Count(id => id == 2));

            var (_, withoutPrompt, _) = MoeProcess.Run("tokenize", "--model", folder, "--chat", messages, "--no-generation-prompt", "--json");
            using JsonDocument bare = JsonDocument.Parse(withoutPrompt);
            Assert.Equal("<s>user\nAnd God said</s></s>\n", bare.RootElement.GetProperty("prompt").GetString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
