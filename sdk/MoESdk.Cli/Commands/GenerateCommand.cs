using System.CommandLine;
using System.Diagnostics;
using MoESdk.Inference;
using MoESdk.Loading;
using MoESdk.Tokenization;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe generate</c>: continues a prompt (text, or token ids for models without a tokenizer), streaming tokens.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text (needs the model's tokenizer)." };
        var tokens = new Option<string?>("--tokens") { Description = "Prompt as comma-separated token ids; output is token ids too." };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature", "-t") { Description = "0 = greedy; higher = more random.", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Sample from the k most likely tokens (0 = all).", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "Sample from the smallest set reaching this probability.", DefaultValueFactory = _ => 0.95f };
        var seed = new Option<int>("--seed") { Description = "Sampler seed: same seed, same text.", DefaultValueFactory = _ => 42 };
        var dtype = new Option<string>("--dtype") { Description = "Precision of the weights: f32 (as loaded), bf16 (held in bfloat16 from the file on: half the memory of f32, prefill in bfloat16 too) or int8 (held in q8_0-like blocks of 32 from the file on: about a quarter of the memory of f32, prefill in int8 too).", DefaultValueFactory = _ => "f32" };
        var command = new Command("generate", "Continue a prompt with a model, printing tokens as they are generated.")
        {
            CommonOptions.Model, prompt, tokens, maxTokens, temperature, topK, topP, seed, dtype,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string? promptText = result.GetValue(prompt);
            string? promptIds = result.GetValue(tokens);
            if ((promptText is null) == (promptIds is null))
            {
                throw new ArgumentException("Give exactly one of --prompt (text) or --tokens (comma-separated ids).");
            }
            var options = new GenerationOptions
            {
                MaxTokens = result.GetValue(maxTokens),
                Sampling = new SamplingOptions
                {
                    Temperature = result.GetValue(temperature),
                    TopK = result.GetValue(topK),
                    TopP = result.GetValue(topP),
                    Seed = result.GetValue(seed),
                },
            };
            options.Validate();
            DecodePrecision precision = DecodePrecisionNames.Parse(result.GetValue(dtype)!);
            bool json = result.GetValue(CommonOptions.Json);

            // bf16 holds the weights in bfloat16 from the file on: half the memory, and prefill in bfloat16 too.
            LoadOptions load = CommonOptions.LoadOptions(result) with { Precision = precision };
            using LanguageModel model = LanguageModel.Open(result.GetValue(CommonOptions.Model)!, load);
            ITextTokenizer? tokenizer = promptText is null ? null : model.RequireTokenizer();
            IReadOnlyList<int> input = tokenizer is null ? ParseIds(promptIds!) : model.EncodePrompt(promptText!);
            if (tokenizer is not null)
            {
                options = options with { StopTokens = tokenizer.EosIds };
            }

            using var session = new InferenceSession(model.Model, precision: precision);
            var decoder = tokenizer is null ? null : new StreamingDecoder(tokenizer, input);
            var generated = new List<int>();
            var text = new System.Text.StringBuilder();
            var clock = Stopwatch.StartNew();
            double? firstTokenSeconds = null;
            if (!json && promptText is not null)
            {
                Console.Write(promptText);
            }
            foreach (int token in session.Generate(input, options, cancellationToken))
            {
                firstTokenSeconds ??= clock.Elapsed.TotalSeconds;
                generated.Add(token);
                string piece = decoder is null ? (generated.Count > 1 ? "," : "") + token : decoder.Append(token);
                text.Append(piece);
                if (!json)
                {
                    Console.Write(piece);
                }
            }
            string rest = decoder?.Flush() ?? "";
            text.Append(rest);
            double seconds = clock.Elapsed.TotalSeconds;
            double decodeRate = generated.Count > 1 ? (generated.Count - 1) / (seconds - firstTokenSeconds!.Value) : 0;
            if (json)
            {
                CommandRunner.WriteJson(new GenerateReport(model.Source, input, generated, tokenizer is null ? null : text.ToString(),
                    session.FinishReason.ToString(), firstTokenSeconds ?? seconds, decodeRate));
            }
            else
            {
                Console.WriteLine(rest);
                CommandRunner.Status.MarkupLine($"[grey]{generated.Count} tokens, {decodeRate:F1} tokens/s, finish: {session.FinishReason}[/]");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static int[] ParseIds(string ids)
    {
        try
        {
            int[] parsed = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            return parsed.Length > 0 ? parsed : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--tokens must be comma-separated integers such as 1,2,3, was '{ids}'.");
        }
    }

    /// <summary>The JSON fields of <c>moe generate --json</c>.</summary>
    public sealed record GenerateReport(string Model, IReadOnlyList<int> PromptTokens, IReadOnlyList<int> GeneratedTokens, string? Text,
        string FinishReason, double TimeToFirstTokenSeconds, double DecodeTokensPerSecond);
}
