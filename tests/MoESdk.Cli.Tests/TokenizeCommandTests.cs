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
        Assert.Contains("exactly one of --text or --file", stderr);
        Assert.Equal("", stdout);
    }
}
