using MoESdk.Chat;
using MoESdk.Chat.Templates;
using MoESdk.Loading;
using MoESdk.Serving;
using MoESdk.Tests.Tokenization;

namespace MoESdk.Tests.Chat;

/// <summary>Reading a model folder's chat template, special tokens and generation defaults.</summary>
[Trait("Category", "Unit")]
public sealed class ChatTemplateTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    private static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    [Fact]
    public void A_template_string_renders_with_the_special_tokens_of_the_config()
    {
        File.WriteAllText(_folder.File("tokenizer_config.json"), """
            {"bos_token": {"content": "<B>", "special": true}, "eos_token": "<E>", "pad_token": null,
             "added_tokens_decoder": {"7": {"content": "<T>", "special": true}, "8": {"content": "<plain>", "special": false}},
             "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}{{ tools is none }}{{ pad_token is defined }}"}
            """);

        ChatTemplate template = ChatTemplate.Load(_folder.Path)!;

        Assert.Equal("<B>[user]hi<E>[assistant]TrueFalse", template.Render([Message("user", "hi")]));
        Assert.Equal("<B>[user]hi<E>TrueFalse", template.Render([Message("user", "hi")], new ChatTemplateOptions { AddGenerationPrompt = false }));
        Assert.Equal("<B>", template.BosToken);
        Assert.Equal(["<B>", "<E>", "<T>"], template.ControlTokens);
        Assert.Equal(["<E>"], template.EndOfTurnTokens);
    }

    [Fact]
    public void Named_templates_use_default_unless_asked_and_chat_template_jinja_wins()
    {
        File.WriteAllText(_folder.File("tokenizer_config.json"), """
            {"chat_template": [{"name": "default", "template": "D{{ messages|length }}"}, {"name": "tool_use", "template": "T{{ tools|length }}"}]}
            """);
        ChatTemplate named = ChatTemplate.Load(_folder.Path)!;
        Assert.Equal("D1", named.Render([Message("user", "x")]));
        Assert.Equal("T2", named.Render([Message("user", "x")], new ChatTemplateOptions { TemplateName = "tool_use", Tools = ["a", "b"] }));
        Assert.Contains("tool_use", Assert.Throws<ArgumentException>(() => named.Render([], new ChatTemplateOptions { TemplateName = "rag" })).Message, StringComparison.Ordinal);

        File.WriteAllText(_folder.File("chat_template.jinja"), "J{{ messages[0].content }}\n");
        Assert.Equal("Jx", ChatTemplate.Load(_folder.Path)!.Render([Message("user", "x")]));
    }

    [Fact]
    public void A_folder_without_a_template_has_none()
    {
        Assert.Null(ChatTemplate.Load(_folder.Path));
        File.WriteAllText(_folder.File("tokenizer_config.json"), """{"eos_token": "</s>"}""");
        Assert.Null(ChatTemplate.Load(_folder.Path));
    }

    [Fact]
    public void A_template_that_does_not_parse_names_the_file_and_the_construct()
    {
        File.WriteAllText(_folder.File("tokenizer_config.json"), """{"chat_template": "{% for m in messages %}{{ m.content }}"}""");

        var e = Assert.Throws<ModelFormatException>(() => ChatTemplate.Load(_folder.Path));

        Assert.Contains("tokenizer_config.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected '{% endfor %}'", e.Message, StringComparison.Ordinal);
        Assert.IsType<TemplateException>(e.InnerException);
    }

    [Fact]
    public void Control_tokens_are_the_special_tokens_and_the_markers_the_template_writes_but_does_not_read()
    {
        File.WriteAllText(_folder.File("tokenizer_config.json"), """
            {"chat_template": "{% for m in messages %}<U>{% if '</r>' in m.content %}{{ m.content.split('<r>')[-1] }}{% endif %}{{ '<A>' }}{% endfor %}"}
            """);
        File.WriteAllText(_folder.File("tokenizer.json"), """
            {"added_tokens": [{"id": 5, "content": "<|h|>", "special": true}, {"id": 6, "content": "<U>", "special": false},
             {"id": 7, "content": "<A>", "special": false}, {"id": 8, "content": "<r>", "special": false}, {"id": 9, "content": "</r>", "special": false},
             {"id": 10, "content": "<unused>", "special": false}]}
            """);

        Assert.Equal(["<|h|>", "<U>", "<A>"], ChatTemplate.Load(_folder.Path)!.ControlTokens);
    }

    [Fact]
    public void Generation_defaults_come_from_generation_config()
    {
        Assert.Equal(GenerationDefaults.None, GenerationDefaults.Load(_folder.Path));

        File.WriteAllText(_folder.File("generation_config.json"), """{"temperature": 0.6, "top_p": 0.9, "top_k": 20, "eos_token_id": [1, 106]}""");
        GenerationDefaults defaults = GenerationDefaults.Load(_folder.Path);
        Assert.Equal((0.6f, 0.9f, 20), (defaults.Temperature, defaults.TopP, defaults.TopK));
        Assert.Equal([1, 106], defaults.EosTokenIds);

        File.WriteAllText(_folder.File("generation_config.json"), """{"do_sample": false, "temperature": 0.6, "eos_token_id": 2}""");
        defaults = GenerationDefaults.Load(_folder.Path);
        Assert.Equal(0f, defaults.Temperature);
        Assert.Equal([2], defaults.EosTokenIds);

        File.WriteAllText(_folder.File("generation_config.json"), """{"temperature": "hot"}""");
        Assert.Contains("generation_config.json", Assert.Throws<ModelFormatException>(() => GenerationDefaults.Load(_folder.Path)).Message, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();
}
