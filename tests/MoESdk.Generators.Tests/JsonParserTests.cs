using MoESdk.Generators.Json;
using MoESdk.Generators.Parsing;

namespace MoESdk.Generators.Tests;

/// <summary>The generator's small JSON parser and name sanitizer.</summary>
[Trait("Category", "Unit")]
public sealed class JsonParserTests
{
    [Fact]
    public void ParsesNestedValuesEscapesAndNumbers()
    {
        var root = (JsonObject)JsonParser.Parse("""
            { "a": [1, -2.5e3, 0, true, false, null], "s": "q\"\\\/\n\u00e9", "o": {} }
            """);

        var items = ((JsonArray)root.Members["a"]).Items;
        Assert.Equal(["1", "-2.5e3", "0"], items.Take(3).Cast<JsonNumber>().Select(n => n.Text));
        Assert.Equal(["true", "false", "null"], items.Skip(3).Cast<JsonLiteral>().Select(l => l.Text));
        Assert.Equal("q\"\\/\né", ((JsonString)root.Members["s"]).Value);
        Assert.Empty(((JsonObject)root.Members["o"]).Members);
        Assert.Equal(7, root.Members["a"].Position);
    }

    [Theory]
    [InlineData("{\"a\": 1,}", "expected a property name in double quotes", 8)]
    [InlineData("[1 2]", "expected ',' but found '2'", 3)]
    [InlineData("{\"a\": tru}", "unexpected character 't'", 6)]
    [InlineData("\"abc", "unterminated string", 4)]
    [InlineData("{} {}", "unexpected text after the end of the document", 3)]
    [InlineData("-", "expected a digit", 1)]
    [InlineData("\"\\x\"", "invalid escape '\\x'", 2)]
    [InlineData("", "unexpected end of the document", 0)]
    public void RejectsInvalidJsonWithThePosition(string text, string message, int position)
    {
        var error = Assert.Throws<JsonParseException>(() => JsonParser.Parse(text));

        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Theory]
    [InlineData("kjv-llama", "KjvLlama")]
    [InlineData("ck-f8k2", "CkF8k2")]
    [InlineData("TinyLLaMA_v2", "TinyLLaMAV2")]
    [InlineData("2b model", "_2bModel")]
    [InlineData("modèle.fr", "ModèleFr")]
    [InlineData("--", null)]
    public void SanitizesModelNamesIntoTypeNames(string name, string? typeName) =>
        Assert.Equal(typeName, Identifiers.ToTypeName(name));
}
