using System.Text.Json;
using MoESdk.Chat.Templates;
using MoESdk.Loading;

namespace MoESdk.Chat;

/// <summary>
/// A model's chat template, as Hugging Face stores it: <c>chat_template</c> in tokenizer_config.json (one template,
/// or a list of named ones of which "default" is used unless another is asked for), or a chat_template.jinja file
/// beside it (which wins, as in transformers). Renders a conversation into the prompt text the model was trained on,
/// with the variables transformers gives a template: <c>messages</c>, <c>tools</c>, <c>documents</c>,
/// <c>add_generation_prompt</c>, the special tokens (<c>bos_token</c>, <c>eos_token</c>, <c>unk_token</c>,
/// <c>pad_token</c>) and any extra arguments (e.g. <c>enable_thinking</c>).
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>Name of the template used when a request names none.</summary>
    public const string DefaultName = "default";

    private static readonly string[] NamedSpecialTokens = ["bos_token", "eos_token", "unk_token", "pad_token"];

    /// <summary>Tokens that close a turn in the major template families; a template that writes one stops generation on it.</summary>
    private static readonly string[] KnownEndOfTurnTokens =
        ["<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<end_of_turn>", "<｜end▁of▁sentence｜>", "<|end|>", "<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"];

    private readonly IReadOnlyDictionary<string, JinjaTemplate> _templates;
    private readonly IReadOnlyDictionary<string, string> _specialTokenVariables;

    private readonly IReadOnlyList<string> _specialTokens;
    private readonly IReadOnlyList<string> _addedTokens;

    private ChatTemplate(IReadOnlyDictionary<string, JinjaTemplate> templates, IReadOnlyDictionary<string, string> specialTokenVariables,
        IReadOnlyList<string> specialTokens, IReadOnlyList<string> addedTokens)
    {
        _templates = templates;
        _specialTokenVariables = specialTokenVariables;
        _specialTokens = specialTokens;
        _addedTokens = addedTokens;
        // Added tokens that are not special (DeepSeek's <｜User｜>, <｜Assistant｜>) still mark turns when the template
        // writes them; those it looks for in messages (Qwen3 splits reasoning at </think>) are message text too.
        TemplateLiterals[] literals = templates.Values.Select(t => t.Literals).ToArray();
        IEnumerable<string> markers = addedTokens.Where(token =>
            literals.Any(l => l.Written.Any(w => w.Contains(token, StringComparison.Ordinal))) &&
            !literals.Any(l => l.Inspected.Any(i => i.Contains(token, StringComparison.Ordinal))));
        ControlTokens = specialTokens.Concat(markers).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The template's names: "default" and, when tokenizer_config.json lists several, the others (e.g. "tool_use").</summary>
    public IReadOnlyCollection<string> Names => _templates.Keys.ToArray();

    public string? BosToken => _specialTokenVariables.GetValueOrDefault("bos_token");

    public string? EosToken => _specialTokenVariables.GetValueOrDefault("eos_token");

    /// <summary>
    /// The tokens message content must not be able to inject: the tokenizer's special tokens (tokenizer_config.json's
    /// named tokens, <c>added_tokens_decoder</c> and tokenizer.json's <c>added_tokens</c> marked special), and the
    /// other added tokens the template writes as markers, unless it also looks for them in messages.
    /// </summary>
    public IReadOnlyList<string> ControlTokens { get; }

    /// <summary>
    /// The tokens that end the assistant's turn: the <c>eos_token</c> and the known end-of-turn markers
    /// (<c>&lt;|eot_id|&gt;</c>, <c>&lt;|im_end|&gt;</c>, <c>&lt;end_of_turn&gt;</c>, <c>&lt;｜end▁of▁sentence｜&gt;</c>…) that
    /// the template writes. Generation stops on any of them.
    /// </summary>
    public IReadOnlyList<string> EndOfTurnTokens =>
        [.. new[] { EosToken }.OfType<string>().Concat(KnownEndOfTurnTokens.Where(t => _templates.Values.Any(x => x.Source.Contains(t, StringComparison.Ordinal)))).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The chat template of the model at <paramref name="modelPath"/> (a folder, or a file inside one); null when it
    /// has none (a base model: its prompts stay plain text).
    /// </summary>
    /// <exception cref="ModelFormatException">A file is not valid JSON, or the template does not parse (the message names the construct).</exception>
    public static ChatTemplate? Load(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        string directory = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".";
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        string jinjaPath = Path.Combine(directory, "chat_template.jinja");
        string? config = File.Exists(configPath) ? File.ReadAllText(configPath) : null;
        string? jinja = File.Exists(jinjaPath) ? File.ReadAllText(jinjaPath) : null;
        if (config is null && jinja is null)
        {
            return null;
        }
        ChatTemplate? chat = FromFiles(config ?? "{}", configPath, jinja, jinjaPath);
        string tokenizerPath = Path.Combine(directory, "tokenizer.json");
        if (chat is null || !File.Exists(tokenizerPath))
        {
            return chat;
        }
        // tokenizer_config.json does not always list the special tokens (LLaMA-3's has no added_tokens_decoder);
        // tokenizer.json does, in added_tokens.
        (List<string> special, List<string> added) = AddedTokens(tokenizerPath);
        return new ChatTemplate(chat._templates, chat._specialTokenVariables,
            chat._specialTokens.Concat(special).Distinct(StringComparer.Ordinal).ToArray(),
            chat._addedTokens.Concat(added).Distinct(StringComparer.Ordinal).ToArray());
    }

    /// <summary>tokenizer.json's added tokens: those marked special, and the others.</summary>
    private static (List<string> Special, List<string> Other) AddedTokens(string tokenizerPath)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
            (List<string> special, List<string> other) = ([], []);
            if (document.RootElement.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement token in added.EnumerateArray())
                {
                    if (token.ValueKind == JsonValueKind.Object && TokenText(token) is { Length: > 0 } text)
                    {
                        (token.TryGetProperty("special", out JsonElement flag) && flag.ValueKind == JsonValueKind.True ? special : other).Add(text);
                    }
                }
            }
            return (special, other);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(tokenizerPath, $"not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The chat template of a tokenizer_config.json text; null when it has none.</summary>
    /// <param name="tokenizerConfigJson">The text of tokenizer_config.json.</param>
    /// <param name="configName">The file's name or path, for error messages.</param>
    public static ChatTemplate? FromTokenizerConfig(string tokenizerConfigJson, string configName = "tokenizer_config.json") =>
        FromFiles(tokenizerConfigJson, configName, null, null);

    private static ChatTemplate? FromFiles(string configJson, string configPath, string? jinja, string? jinjaPath)
    {
        JsonElement config;
        try
        {
            using JsonDocument document = JsonDocument.Parse(configJson);
            config = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(configPath, $"not valid JSON: {e.Message}", e);
        }
        if (config.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(configPath, "the top level is not a JSON object.");
        }
        var sources = new Dictionary<string, (string Text, string Where)>(StringComparer.Ordinal);
        if (config.TryGetProperty("chat_template", out JsonElement template))
        {
            switch (template.ValueKind)
            {
                case JsonValueKind.String:
                    sources[DefaultName] = (template.GetString()!, $"{configPath} chat_template");
                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement named in template.EnumerateArray())
                    {
                        if (named.ValueKind != JsonValueKind.Object || !named.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String ||
                            !named.TryGetProperty("template", out JsonElement text) || text.ValueKind != JsonValueKind.String)
                        {
                            throw new ModelFormatException(configPath, "each entry of the chat_template list needs a string \"name\" and a string \"template\".");
                        }
                        sources[name.GetString()!] = (text.GetString()!, $"{configPath} chat_template '{name.GetString()}'");
                    }
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw new ModelFormatException(configPath, "chat_template must be a string or a list of {\"name\", \"template\"} objects.");
            }
        }
        if (jinja is not null)
        {
            sources[DefaultName] = (jinja, jinjaPath!);
        }
        if (sources.Count == 0)
        {
            return null;
        }
        if (!sources.ContainsKey(DefaultName))
        {
            throw new ModelFormatException(configPath, $"the chat_template list has no template named \"{DefaultName}\" (it has {string.Join(", ", sources.Keys)}).");
        }
        var templates = new Dictionary<string, JinjaTemplate>(StringComparer.Ordinal);
        foreach ((string name, (string text, string where)) in sources)
        {
            try
            {
                templates[name] = JinjaTemplate.Parse(text, where);
            }
            catch (TemplateException e)
            {
                throw new ModelFormatException(jinja is not null && name == DefaultName ? jinjaPath! : configPath,
                    $"{e.Message} Fix the chat template (or remove it to serve the model with plain-text prompts).", e);
            }
        }
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var specials = new List<string>();
        var others = new List<string>();
        foreach (string key in NamedSpecialTokens)
        {
            if (config.TryGetProperty(key, out JsonElement token) && TokenText(token) is { } text)
            {
                variables[key] = text;
                specials.Add(text);
            }
        }
        if (config.TryGetProperty("added_tokens_decoder", out JsonElement added) && added.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty entry in added.EnumerateObject())
            {
                if (entry.Value.ValueKind == JsonValueKind.Object && TokenText(entry.Value) is { Length: > 0 } text)
                {
                    (entry.Value.TryGetProperty("special", out JsonElement special) && special.ValueKind == JsonValueKind.True ? specials : others).Add(text);
                }
            }
        }
        if (config.TryGetProperty("additional_special_tokens", out JsonElement additional) && additional.ValueKind == JsonValueKind.Array)
        {
            specials.AddRange(additional.EnumerateArray().Select(TokenText).OfType<string>());
        }
        return new ChatTemplate(templates, variables, specials.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToArray(),
            others.Distinct(StringComparer.Ordinal).ToArray());
    }

    /// <summary>A token is written as its text or as an object whose "content" is the text.</summary>
    private static string? TokenText(JsonElement token) => token.ValueKind switch
    {
        JsonValueKind.String => token.GetString(),
        JsonValueKind.Object when token.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String => content.GetString(),
        _ => null,
    };

    /// <summary>The template called <paramref name="name"/>; an error lists the names there are.</summary>
    internal JinjaTemplate GetTemplate(string? name = null)
    {
        name ??= DefaultName;
        return _templates.TryGetValue(name, out JinjaTemplate? template) ? template
            : throw new ArgumentException($"The model has no chat template named '{name}'; it has {string.Join(", ", _templates.Keys)}.", nameof(name));
    }

    /// <summary>
    /// Renders <paramref name="messages"/> (each a dictionary with "role", "content" and any other fields the template
    /// reads, such as "tool_calls" or "reasoning_content"; or a <see cref="JsonElement"/> object) into prompt text.
    /// </summary>
    /// <exception cref="TemplateRaisedException">The template refused the conversation (e.g. roles that do not alternate).</exception>
    /// <exception cref="TemplateException">The template failed on this input (the message names the construct).</exception>
    public string Render(IReadOnlyList<object?> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatTemplateOptions();
        return GetTemplate(options.TemplateName).Render(Variables(messages, options));
    }

    internal Dictionary<string, object?> Variables(object? messages, ChatTemplateOptions options)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string key, string value) in _specialTokenVariables)
        {
            variables[key] = value;
        }
        variables["messages"] = messages;
        variables["tools"] = options.Tools;
        variables["documents"] = options.Documents;
        variables["add_generation_prompt"] = options.AddGenerationPrompt;
        foreach ((string key, object? value) in options.Arguments ?? new Dictionary<string, object?>())
        {
            variables[key] = value;
        }
        return variables;
    }
}

/// <summary>How a conversation is rendered: the generation prompt, tools, documents and template-specific arguments.</summary>
public sealed record ChatTemplateOptions
{
    /// <summary>Whether the prompt ends with the opening of the assistant's turn (true to generate a reply).</summary>
    public bool AddGenerationPrompt { get; init; } = true;

    /// <summary>Tool definitions (JSON-schema objects, usually <c>{"type": "function", "function": {...}}</c>); null when none.</summary>
    public IReadOnlyList<object?>? Tools { get; init; }

    /// <summary>Retrieved documents for templates that cite them; null when none.</summary>
    public IReadOnlyList<object?>? Documents { get; init; }

    /// <summary>Extra template variables, such as Qwen3's <c>enable_thinking</c>.</summary>
    public IReadOnlyDictionary<string, object?>? Arguments { get; init; }

    /// <summary>Which of the model's named templates to use; null for "default".</summary>
    public string? TemplateName { get; init; }
}
