using System.CommandLine;
using System.Text;
using System.Text.Json;
using MoESdk.Chat;
using MoESdk.Loading;
using MoESdk.Tokenization;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe tokenize</c>: the ids and pieces a model's tokenizer makes of a text, for debugging prompts.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "A model or tokenizer folder (tokenizer.json, tokenizer.model, vocab.json + merges.txt), a tokenizer file, a llama2.c checkpoint or a .moe artifact.",
            Required = true,
        };
        var text = new Option<string?>("--text", "-t") { Description = "The text to tokenize." };
        var file = new Option<string?>("--file", "-f") { Description = "A UTF-8 file whose text to tokenize." };
        var noSpecial = new Option<bool>("--no-special")
        {
            Description = "Encode as untrusted text: add no BOS/EOS and read special-token strings (<|im_end|>, <s>) in the text as plain text.",
        };
        var chat = new Option<string?>("--chat")
        {
            Description = "A JSON file holding an array of chat messages ({\"role\": ..., \"content\": ...}): rendered with the model's chat template, then tokenized as a chat request is.",
        };
        var noGenerationPrompt = new Option<bool>("--no-generation-prompt") { Description = "With --chat: render without the assistant turn's opening." };
        var command = new Command("tokenize", "Show the token ids and pieces a model's tokenizer makes of a text or a chat.") { model, text, file, chat, noSpecial, noGenerationPrompt };
        CommandRunner.SetAction(command, (result, _) =>
        {
            int inputs = new[] { result.GetValue(text), result.GetValue(file), result.GetValue(chat) }.Count(v => v is not null);
            if (inputs != 1)
            {
                throw new ArgumentException("Give exactly one of --text, --file or --chat.");
            }
            string path = result.GetValue(model)!;
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                throw new FileNotFoundException($"{path}: no such file or folder", path);
            }
            ITextTokenizer tokenizer = TokenizerLoader.TryLoad(path) ?? throw new ModelFormatException(path,
                "no tokenizer found (tokenizer.json, tokenizer.model, vocab.json + merges.txt, or tokenizer.bin)");
            string? prompt = null;
            IReadOnlyList<int> ids;
            if (result.GetValue(chat) is string messagesPath)
            {
                ChatPrompt rendered = RenderChat(path, tokenizer, messagesPath, !result.GetValue(noGenerationPrompt));
                (prompt, ids) = (rendered.Text, rendered.Ids);
            }
            else
            {
                string input = result.GetValue(text) ?? File.ReadAllText(result.GetValue(file)!);
                bool special = !result.GetValue(noSpecial);
                ids = tokenizer.Encode(input, addSpecialTokens: special, parseSpecialTokens: special);
            }
            var pieces = ids.Select(id => new TokenPiece(id, (tokenizer as HuggingFaceTextTokenizer)?.IdToToken(id), tokenizer.Decode([id]))).ToList();
            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(new TokenizeReport(path, tokenizer.GetType().Name, prompt, ids.Count, ids, pieces));
                return Task.FromResult(0);
            }
            if (prompt is not null)
            {
                Console.WriteLine(prompt);
                Console.WriteLine();
            }
            var table = new Table().AddColumns("id", "token", "text");
            foreach (TokenPiece piece in pieces)
            {
                table.AddRow(piece.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(Visible(piece.Token ?? "")), Markup.Escape(Visible(piece.Text)));
            }
            AnsiConsole.Write(table);
            Console.WriteLine($"{ids.Count} tokens: [{string.Join(", ", ids)}]");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>
    /// The chat prompt a chat request to the model would get: the messages rendered with the model's template, message
    /// text encoded as text (special-token strings in it stay text), the template's own tokens as special ids.
    /// </summary>
    private static ChatPrompt RenderChat(string modelPath, ITextTokenizer tokenizer, string messagesPath, bool generationPrompt)
    {
        ChatTemplate template = ChatTemplate.Load(modelPath) ?? throw new ModelFormatException(modelPath,
            "the model has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); tokenize its prompt with --text");
        JsonElement messages;
        try
        {
            messages = JsonDocument.Parse(File.ReadAllText(messagesPath)).RootElement;
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{messagesPath}: not valid JSON ({e.Message}); give an array of messages such as [{{\"role\": \"user\", \"content\": \"Hi\"}}].", e);
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw new ArgumentException($"{messagesPath}: the chat must be a JSON array of messages such as [{{\"role\": \"user\", \"content\": \"Hi\"}}].");
        }
        return ChatPrompt.Create(template, tokenizer, [.. messages.EnumerateArray().Select(m => (object?)m)], new ChatTemplateOptions { AddGenerationPrompt = generationPrompt });
    }

    /// <summary>Quoted, with control characters written as escapes, so that spaces and newlines can be seen.</summary>
    private static string Visible(string piece)
    {
        var builder = new StringBuilder("'");
        foreach (char c in piece)
        {
            builder.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return builder.Append('\'').ToString();
    }

    /// <summary>One token: its id, its vocabulary string where the tokenizer has one, and the text it decodes to alone (empty for special tokens).</summary>
    public sealed record TokenPiece(int Id, string? Token, string Text);

    /// <summary>The JSON fields of <c>moe tokenize --json</c>.</summary>
    public sealed record TokenizeReport(string Model, string Tokenizer, string? Prompt, int Count, IReadOnlyList<int> Ids, IReadOnlyList<TokenPiece> Tokens);
}
