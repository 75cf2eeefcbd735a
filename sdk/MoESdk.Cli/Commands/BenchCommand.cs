using System.CommandLine;
using MoESdk.Evaluation;
using MoESdk.Inference;
using MoESdk.Modules;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe bench</c>: prefill and batch-1 decode tokens/s of a model and the models it is compared with, measured
/// interleaved in one process, with each candidate's ratio to the first model and the ideal ratio for its
/// active fraction. <c>--shape</c> measures synthetic weights of a realistic size without any file.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Reference model (folder, llama2.c .bin or .moe artifact)." };
        var compare = new Option<string[]>("--compare") { Description = "Models measured against --model (repeatable).", AllowMultipleArgumentsPerToken = true };
        var shape = new Option<string?>("--shape") { Description = "Synthetic model instead of files: 110m (dim 768, FFN 2048, 12 layers) or 1b (TinyLlama: dim 2048, FFN 5632, 22 layers, GQA 32:4)." };
        var experts = new Option<int>("--experts", "-e") { Description = "With --shape: experts per layer.", DefaultValueFactory = _ => 8 };
        var topK = new Option<int[]>("--top-k", "-k") { Description = "With --shape: experts per token, one MoE per value (e.g. --top-k 2 4).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [2] };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prompt length of the prefill measurement.", DefaultValueFactory = _ => 64 };
        var decode = new Option<int>("--decode-tokens") { Description = "Tokens generated per decode measurement.", DefaultValueFactory = _ => 64 };
        var repetitions = new Option<int>("--repetitions") { Description = "Measured repetitions after one warm-up; medians are reported.", DefaultValueFactory = _ => 5 };
        var backend = new Option<DecodeBackend>("--backend") { Description = "Decode with the SDK's kernels or TorchSharp operators.", DefaultValueFactory = _ => DecodeBackend.Kernels };
        var dtypes = new Option<string[]>("--dtype")
        {
            Description = DecodePrecisionNames.Description + " Several values (e.g. --dtype f32 bf16 int8) measure every model in each, ratios over the first.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["f32"],
        };
        var command = new Command("bench", "Prefill and decode tokens/s of models measured side by side, their ratios and the ideal ratio for the active fraction.")
        {
            model, compare, shape, experts, topK, prompt, decode, repetitions, backend, dtypes,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string? modelPath = result.GetValue(model);
            string? shapeName = result.GetValue(shape);
            if ((modelPath is null) == (shapeName is null))
            {
                throw new ArgumentException("Give either --model (with optional --compare) or --shape.");
            }
            int promptTokens = result.GetValue(prompt), decodeTokens = result.GetValue(decode), reps = result.GetValue(repetitions);
            if (promptTokens < 1 || decodeTokens < 1 || reps < 1)
            {
                throw new ArgumentException("--prompt-tokens, --decode-tokens and --repetitions must be at least 1.");
            }

            var subjects = new List<(string Name, LlamaModel Model, DecodePrecision Precision)>();
            var owned = new List<IDisposable>();
            try
            {
                if (shapeName is not null)
                {
                    CommandRunner.Status.MarkupLine($"[grey]building synthetic {Markup.Escape(shapeName)} weights...[/]");
                    LlamaModel dense = BenchmarkShape.Dense(BenchmarkShape.Config(shapeName));
                    owned.Add(dense);
                    subjects.Add(($"{shapeName} dense", dense, DecodePrecision.Float32));
                    foreach (int k in result.GetValue(topK)!)
                    {
                        LlamaModel moe = BenchmarkShape.Mixture(dense, result.GetValue(experts), k);
                        owned.Insert(0, moe);
                        subjects.Add(($"{shapeName} MoE {result.GetValue(experts)}e top-{k}", moe, DecodePrecision.Float32));
                    }
                }
                else
                {
                    foreach (string path in new[] { modelPath! }.Concat(result.GetValue(compare) ?? []))
                    {
                        LanguageModel opened = LanguageModel.Open(path, CommonOptions.LoadOptions(result));
                        owned.Add(opened);
                        subjects.Add((Path.GetFileName(path.TrimEnd('/', '\\')), opened.Model, DecodePrecision.Float32));
                    }
                }
                DecodePrecision[] precisions = result.GetValue(dtypes)!.Select(DecodePrecisionNames.Parse).Distinct().ToArray();
                if (precisions.Length > 1)
                {
                    subjects = precisions.SelectMany(p => subjects.Select(s => ($"{s.Name} {DecodePrecisionNames.Name(p)}", s.Model, p))).ToList();
                }
                else
                {
                    subjects = subjects.Select(s => (s.Name, s.Model, precisions[0])).ToList();
                }
                if (subjects.Any(s => s.Model.Config.MaxPositions < promptTokens + decodeTokens + 1))
                {
                    throw new ArgumentException($"--prompt-tokens + --decode-tokens ({promptTokens + decodeTokens}) exceed a model's context length.");
                }

                IReadOnlyList<SpeedResult> speed = CommandRunner.Status.Progress().Start(context =>
                {
                    ProgressTask task = context.AddTask("measuring", maxValue: reps + 1);
                    return SpeedBenchmark.Measure(subjects.Select(s => s.Model).ToArray(), promptTokens, decodeTokens, reps,
                        new SynchronousProgress<int>(r => task.Value = r + 1), cancellationToken, result.GetValue(backend),
                        subjects.Select(s => s.Precision).ToArray());
                });
                LlamaModel reference = subjects[0].Model;
                var report = new BenchReport(result.GetValue(backend).ToString().ToLowerInvariant(), Environment.ProcessorCount, promptTokens, decodeTokens, reps,
                    subjects.Select((s, i) => new BenchModelReport(s.Name, s.Model.CountParameters().ActiveFeedForwardRatio,
                        speed[i].DecodeTokensPerSecond, speed[i].PrefillTokensPerSecond,
                        speed[i].DecodeTokensPerSecond / speed[0].DecodeTokensPerSecond,
                        speed[i].PrefillTokensPerSecond / speed[0].PrefillTokensPerSecond,
                        DecodeTraffic.IdealSpeedup(reference, s.Model))).ToArray());
                Write(report, result.GetValue(CommonOptions.Json));
                return Task.FromResult(0);
            }
            finally
            {
                foreach (IDisposable d in owned)
                {
                    d.Dispose();
                }
            }
        });
        return command;
    }

    private static void Write(BenchReport report, bool json)
    {
        if (json)
        {
            CommandRunner.WriteJson(report);
            return;
        }
        CommandRunner.Status.MarkupLine($"[grey]{report.Backend} decode, {report.Threads} threads, prompt {report.PromptTokens}, decode {report.DecodeTokens} tokens, median of {report.Repetitions}[/]");
        var table = new Table().AddColumns("model", "active FFN", "decode tok/s", "prefill tok/s", "decode ×", "prefill ×", "ideal decode ×");
        foreach (BenchModelReport m in report.Models)
        {
            table.AddRow(Markup.Escape(m.Model), $"{m.ActiveFeedForwardRatio:P1}", $"{m.DecodeTokensPerSecond:F1}", $"{m.PrefillTokensPerSecond:F0}",
                $"{m.DecodeSpeedup:F2}", $"{m.PrefillSpeedup:F2}", $"{m.IdealDecodeSpeedup:F2}");
        }
        AnsiConsole.Write(table);
    }
}

/// <summary><c>moe bench --json</c>: the measurement settings and one entry per model, the first being the reference.</summary>
public sealed record BenchReport(string Backend, int Threads, int PromptTokens, int DecodeTokens, int Repetitions, IReadOnlyList<BenchModelReport> Models);

/// <summary>One model's speed; ratios are over the first model of the report.</summary>
public sealed record BenchModelReport(string Model, double ActiveFeedForwardRatio, double DecodeTokensPerSecond, double PrefillTokensPerSecond,
    double DecodeSpeedup, double PrefillSpeedup, double IdealDecodeSpeedup);
