using System.Text;
using MoESdk.Chat.Templates;
using MoESdk.Tokenization;

namespace MoESdk.Chat;

/// <summary>
/// A conversation as the model reads it: the chat template's rendering (<see cref="Text"/>) and its token ids.
/// </summary>
/// <remarks>
/// Special-token strings inside the conversation (message content, tool calls and results, tool definitions) stay
/// text: typing <c>&lt;|im_end|&gt;</c> in a message gives the ids of those characters, never the end-of-turn id, so a
/// user cannot close a turn or open a system turn (<see cref="ChatTemplate.ControlTokens"/> says which strings). Only
/// what the template itself writes becomes special ids. To do so, each such string in the data is swapped for a private-use stand-in character before rendering; the
/// rendering is tokenized with special tokens parsed, and each stand-in is tokenized as the plain text of its
/// token. A conversation without special-token strings gets exactly the ids of its rendering with special tokens
/// parsed, as Hugging Face's <c>apply_chat_template(tokenize=True)</c> gives them.
/// </remarks>
public sealed record ChatPrompt(string Text, IReadOnlyList<int> Ids)
{
    // Supplementary private-use area A: one stand-in per special token, never produced by tokenizers or templates.
    private const int FirstStandIn = 0xF0000;
    private const int LastStandIn = 0xFFFFD;

    /// <summary>Renders <paramref name="messages"/> with <paramref name="template"/> and tokenizes the result for <paramref name="tokenizer"/>.</summary>
    /// <param name="template">The model's chat template.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="messages">Messages as dictionaries (role, content, tool_calls…) or JSON objects; see <see cref="ChatTemplate.Render"/>.</param>
    /// <param name="options">Generation prompt, tools and template arguments; null for the defaults.</param>
    /// <exception cref="TemplateException">The template failed or refused the conversation.</exception>
    public static ChatPrompt Create(ChatTemplate template, ITextTokenizer tokenizer, IReadOnlyList<object?> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatTemplateOptions();
        // Longest first, so a token that contains another is replaced whole.
        string[] specials = template.ControlTokens.Concat(template.EndOfTurnTokens).Distinct(StringComparer.Ordinal)
            .Where(s => tokenizer.TokenToId(s) is not null).OrderByDescending(s => s.Length).Take(LastStandIn - FirstStandIn + 1).ToArray();
        var neutralizer = new Neutralizer(specials);
        object? data = neutralizer.Apply(TemplateValues.FromClr(messages));
        object? tools = options.Tools is null ? null : neutralizer.Apply(TemplateValues.FromClr(options.Tools));
        object? documents = options.Documents is null ? null : neutralizer.Apply(TemplateValues.FromClr(options.Documents));
        Dictionary<string, object?> variables = template.Variables(data, options);
        variables["tools"] = tools;
        variables["documents"] = documents;
        string rendered = template.GetTemplate(options.TemplateName).Render(variables);

        var text = new StringBuilder(rendered.Length);
        var ids = new List<int>();
        int segmentStart = 0;
        for (int i = 0; i < rendered.Length; i++)
        {
            if (!char.IsHighSurrogate(rendered[i]) || i + 1 >= rendered.Length || neutralizer.Token(char.ConvertToUtf32(rendered[i], rendered[i + 1])) is not { } token)
            {
                continue;
            }
            string segment = rendered[segmentStart..i];
            ids.AddRange(tokenizer.Encode(segment, addSpecialTokens: false, parseSpecialTokens: true));
            ids.AddRange(AsText(tokenizer, token));
            text.Append(segment).Append(token);
            i++;
            segmentStart = i + 1;
        }
        string rest = rendered[segmentStart..];
        ids.AddRange(tokenizer.Encode(rest, addSpecialTokens: false, parseSpecialTokens: true));
        text.Append(rest);
        return new ChatPrompt(text.ToString(), ids);
    }

    /// <summary>
    /// A control token's string encoded as text. Tokenizers match added tokens that are not special even without
    /// special-token parsing (as Hugging Face does); such a token is encoded as its first character and the rest.
    /// </summary>
    private static IReadOnlyList<int> AsText(ITextTokenizer tokenizer, string token)
    {
        IReadOnlyList<int> ids = tokenizer.Encode(token, addSpecialTokens: false, parseSpecialTokens: false);
        if (ids.Count != 1 || ids[0] != tokenizer.TokenToId(token))
        {
            return ids;
        }
        int first = char.IsSurrogatePair(token, 0) ? 2 : 1;
        return [.. tokenizer.Encode(token[..first], addSpecialTokens: false, parseSpecialTokens: false),
            .. tokenizer.Encode(token[first..], addSpecialTokens: false, parseSpecialTokens: false)];
    }

    /// <summary>Swaps special-token strings in every string of the conversation for stand-in characters, and back.</summary>
    private sealed class Neutralizer(string[] specials)
    {
        public string? Token(int codePoint) =>
            codePoint >= FirstStandIn && codePoint - FirstStandIn < specials.Length ? specials[codePoint - FirstStandIn] : null;

        public object? Apply(object? value) => value switch
        {
            string s => Replace(s),
            List<object?> list => list.Select(Apply).ToList(),
            object?[] tuple => tuple.Select(Apply).ToArray(),
            OrderedDictionary<string, object?> map => new OrderedDictionary<string, object?>(
                map.Select(p => new KeyValuePair<string, object?>(p.Key, Apply(p.Value))), StringComparer.Ordinal),
            _ => value,
        };

        private string Replace(string s)
        {
            foreach (Rune rune in s.EnumerateRunes())
            {
                if (rune.Value is >= FirstStandIn and <= LastStandIn)
                {
                    throw new ArgumentException(
                        $"Message text holds the private-use character U+{rune.Value:X5}, which chat prompts reserve to keep special-token strings in messages as plain text; remove it.");
                }
            }
            for (int k = 0; k < specials.Length; k++)
            {
                if (s.Contains(specials[k], StringComparison.Ordinal))
                {
                    s = s.Replace(specials[k], char.ConvertFromUtf32(FirstStandIn + k), StringComparison.Ordinal);
                }
            }
            return s;
        }
    }
}
