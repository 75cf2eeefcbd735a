using System.CommandLine;
using MoESdk.Cli.Peers;
using MoESdk.Evaluation;
using MoESdk.Export;
using MoESdk.Inference;
using MoESdk.Loading;
using MoESdk.Modules;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe bench</c>: prefill and batch-1 decode tokens/s of a model and the models it is compared with, measured
/// interleaved in one process, with each candidate's ratio to the first model and the ideal ratio for its
/// active fraction. <c>--shape</c> measures synthetic weights of a realistic size without any file. <c>--peer llamacpp</c>
/// also measures llama.cpp, in this process, on each model exported to GGUF in the matching precision.
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
        var peer = new Option<string?>("--peer")
        {
            Description = "Also measure another engine on the same weights, in this process: llamacpp (llama.cpp through LLamaSharp, on each model exported to GGUF: f32, bf16, q8_0 for int8, q4_0 for int4). Needs the peer plugin, see --peer-path.",
        };
        peer.AcceptOnlyFromAmong(PeerEngine.LlamaCpp);
        var peerPath = new Option<string?>("--peer-path")
        {
            Description = "The peer plugin's assembly or build folder (tests/MoESdk.Benchmarks.LlamaCpp/bin/Release/net10.0 after 'dotnet build tests/MoESdk.Benchmarks.LlamaCpp -c Release'); default: peers/llamacpp beside the tool.",
        };
        var command = new Command("bench", "Prefill and decode tokens/s of models measured side by side, their ratios and the ideal ratio for the active fraction.")
        {
            model, compare, shape, experts, topK, prompt, decode, repetitions, backend, dtypes, peer, peerPath,
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
            if (result.GetValue(peerPath) is not null && result.GetValue(peer) is null)
            {
                throw new ArgumentException("--peer-path names the peer plugin of --peer: give --peer llamacpp too.");
            }
            // Loaded before any model is built, so a missing plugin costs nothing.
            PeerEngine? peerEngine = result.GetValue(peer) is null ? null : PeerEngine.Load(result.GetValue(peerPath));

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

                DecodeBackend decodeBackend = result.GetValue(backend);
                // Each model's session, then the peer on the same weights where asked: measured in that order every round,
                // so the two engines' runs of one model are side by side.
                var measured = new List<ISpeedSubject>();
                // Sessions end first, then the GGUF files they map, then the models.
                owned.Insert(0, new Disposables(measured));
                string? folder = null;
                if (peerEngine is not null)
                {
                    folder = Directory.CreateTempSubdirectory("moe-bench-peer-").FullName;
                    owned.Insert(1, new TemporaryFolder(folder));
                }
                for (int i = 0; i < subjects.Count; i++)
                {
                    measured.Add(SpeedBenchmark.Session(subjects[i].Model, promptTokens, decodeTokens, decodeBackend, subjects[i].Precision));
                    if (peerEngine is not null)
                    {
                        measured.Add(OpenPeer(peerEngine, subjects[i], i, folder!, promptTokens, decodeTokens, cancellationToken));
                    }
                }
                int[] promptIds = SpeedBenchmark.Prompt(promptTokens, subjects[0].Model.Config.VocabSize);
                IReadOnlyList<SpeedResult> all = CommandRunner.Status.Progress().Start(context =>
                {
                    ProgressTask task = context.AddTask("measuring", maxValue: reps + 1);
                    return SpeedBenchmark.Measure(measured, promptIds, decodeTokens, reps,
                        new SynchronousProgress<int>(r => task.Value = r + 1), cancellationToken);
                });
                int engines = peerEngine is null ? 1 : 2;
                SpeedResult[] speed = [.. all.Where((_, i) => i % engines == 0)];
                LlamaModel reference = subjects[0].Model;
                var report = new BenchReport(decodeBackend.ToString().ToLowerInvariant(), Environment.ProcessorCount, promptTokens, decodeTokens, reps,
                    subjects.Select((s, i) => new BenchModelReport(s.Name, s.Model.CountParameters().ActiveFeedForwardRatio,
                        speed[i].DecodeTokensPerSecond, speed[i].PrefillTokensPerSecond,
                        speed[i].DecodeTokensPerSecond / speed[0].DecodeTokensPerSecond,
                        speed[i].PrefillTokensPerSecond / speed[0].PrefillTokensPerSecond,
                        DecodeTraffic.IdealSpeedup(reference, s.Model))).ToArray(),
                    peerEngine is null ? null : PeerReport(peerEngine.Name, subjects, speed, [.. all.Where((_, i) => i % engines == 1)]));
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

    /// <summary>
    /// The peer on <paramref name="subject"/>'s weights, exported to GGUF in its precision into <paramref name="folder"/>
    /// (llama.cpp maps the file, so it stays until the measurement ends).
    /// </summary>
    private static ISpeedSubject OpenPeer(PeerEngine engine, (string Name, LlamaModel Model, DecodePrecision Precision) subject, int index, string folder,
        int promptTokens, int decodeTokens, CancellationToken cancellationToken)
    {
        GgufTensorType weightType = PeerEngine.WeightType(subject.Precision);
        string gguf = Path.Combine(folder, $"model-{index}-{weightType}.gguf");
        CommandRunner.Status.MarkupLine($"[grey]{Markup.Escape(engine.Name)}: {Markup.Escape(subject.Name)} as GGUF {weightType}...[/]");
        GgufExporter.Export(new LanguageModel(subject.Model, tokenizer: null, folder), gguf, weightType, cancellationToken);
        return engine.Open(gguf, Environment.ProcessorCount, promptTokens + decodeTokens + 8, promptTokens);
    }

    /// <summary>
    /// The peer's speed per subject, with MoESdk's over it on the same model and over the peer's first model in the same
    /// precision (the dense reference: what an MoE saves against the engine a user runs today).
    /// </summary>
    private static BenchPeerReport PeerReport(string engine, IReadOnlyList<(string Name, LlamaModel Model, DecodePrecision Precision)> subjects,
        IReadOnlyList<SpeedResult> ours, IReadOnlyList<SpeedResult> theirs)
    {
        DecodePrecision[] precisions = subjects.Select(s => s.Precision).ToArray();
        return new BenchPeerReport(engine, subjects.Select((s, i) =>
        {
            int reference = Array.IndexOf(precisions, s.Precision);
            return new BenchPeerModelReport(s.Name, PeerEngine.WeightType(s.Precision).ToString().ToLowerInvariant(),
                theirs[i].DecodeTokensPerSecond, theirs[i].PrefillTokensPerSecond,
                ours[i].DecodeTokensPerSecond / theirs[i].DecodeTokensPerSecond, ours[i].PrefillTokensPerSecond / theirs[i].PrefillTokensPerSecond,
                ours[i].DecodeTokensPerSecond / theirs[reference].DecodeTokensPerSecond);
        }).ToArray());
    }

    /// <summary>Disposes what the list holds when the command ends (it is filled after it is registered).</summary>
    private sealed class Disposables(List<ISpeedSubject> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (ISpeedSubject item in items)
            {
                item.Dispose();
            }
        }
    }

    /// <summary>A folder of files written for this run only: deleted when the command ends, and by Ctrl+C, which skips finally blocks.</summary>
    private sealed class TemporaryFolder : IDisposable
    {
        private readonly string _path;

        public TemporaryFolder(string path)
        {
            _path = path;
            UnfinishedWrites.Begin(path);
        }

        public void Dispose() => UnfinishedWrites.Discard(_path);
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
        if (report.Peer is { } peer)
        {
            CommandRunner.Status.MarkupLine($"[grey]{Markup.Escape(peer.Engine)} on the same weights, same prompt and threads; × is MoESdk over {Markup.Escape(peer.Engine)}[/]");
            var peers = new Table().AddColumns("model", "GGUF", "decode tok/s", "prefill tok/s", "MoESdk decode ×", "MoESdk prefill ×", "decode × its first model");
            foreach (BenchPeerModelReport m in peer.Models)
            {
                peers.AddRow(Markup.Escape(m.Model), m.WeightType, $"{m.DecodeTokensPerSecond:F1}", $"{m.PrefillTokensPerSecond:F0}",
                    $"{m.DecodeSpeedup:F2}", $"{m.PrefillSpeedup:F2}", $"{m.DecodeSpeedupOverReference:F2}");
            }
            AnsiConsole.Write(peers);
        }
    }
}

/// <summary>
/// <c>moe bench --json</c>: the measurement settings and one entry per model, the first being the reference; with
/// <c>--peer</c>, the peer engine on the same models.
/// </summary>
public sealed record BenchReport(string Backend, int Threads, int PromptTokens, int DecodeTokens, int Repetitions, IReadOnlyList<BenchModelReport> Models,
    BenchPeerReport? Peer = null);

/// <summary>One model's speed; ratios are over the first model of the report.</summary>
public sealed record BenchModelReport(string Model, double ActiveFeedForwardRatio, double DecodeTokensPerSecond, double PrefillTokensPerSecond,
    double DecodeSpeedup, double PrefillSpeedup, double IdealDecodeSpeedup);

/// <summary><c>moe bench --peer</c>: the peer engine and its speed on each of the report's models, in the same order.</summary>
public sealed record BenchPeerReport(string Engine, IReadOnlyList<BenchPeerModelReport> Models);

/// <summary>
/// The peer on one model's weights (<paramref name="WeightType"/>: the GGUF type it ran). Speed-ups are MoESdk's on this
/// model over the peer's on the same model, and over the peer's on the report's first model in the same precision.
/// </summary>
public sealed record BenchPeerModelReport(string Model, string WeightType, double DecodeTokensPerSecond, double PrefillTokensPerSecond,
    double DecodeSpeedup, double PrefillSpeedup, double DecodeSpeedupOverReference);
