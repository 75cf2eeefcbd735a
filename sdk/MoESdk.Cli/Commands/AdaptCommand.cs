using System.CommandLine;
using System.Globalization;
using MoESdk.Adaptation;
using MoESdk.Artifacts;
using MoESdk.Evaluation;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe adapt</c>: fine-tunes the experts a domain routes to (and their routers) on a small corpus, writes
/// the adapted artifact, and reports domain and general perplexity before and after; optionally against
/// fine-tuning a dense model's whole FFN with the same recipe.
/// </summary>
public static class AdaptCommand
{
    public static Command Create()
    {
        var moe = new Option<string>("--moe") { Description = "The .moe artifact to adapt.", Required = true };
        var data = new Option<string>("--data") { Description = "Domain corpus (UTF-8 text) to fine-tune on.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Adapted artifact folder to write.", Required = true };
        var experts = new Option<string>("--experts") { Description = "auto (each layer's top-k busiest experts on the domain text), auto:N (N per layer) or a list layer:expert,... (e.g. 0:3,2:5).", DefaultValueFactory = _ => "auto" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--lr") { Description = "Peak AdamW learning rate (warm-up, then cosine decay).", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the training batch order.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Windows per step.", DefaultValueFactory = _ => 8 };
        var length = new Option<int>("--sequence-length") { Description = "Tokens per training window.", DefaultValueFactory = _ => 128 };
        var freezeRouters = new Option<bool>("--freeze-routers") { Description = "Train the chosen experts only; keep every router as it is." };
        var evaluation = new Option<string?>("--eval") { Description = "General held-out text: perplexity before and after shows what the adaptation costs elsewhere." };
        var domainEvaluation = new Option<string?>("--domain-eval") { Description = "Held-out domain text for the domain perplexity (default: the --data text itself)." };
        var evalWindows = new Option<int>("--eval-windows") { Description = "Windows of 128 tokens scored per evaluation text.", DefaultValueFactory = _ => 64 };
        var baseline = new Option<string?>("--baseline") { Description = "A dense model (e.g. the artifact's source) whose whole FFN is fine-tuned with the same recipe, for comparison; it is not saved." };
        var command = new Command("adapt", "Adapt a Mixture-of-Experts artifact to a domain: fine-tune only the experts the domain uses (and their routers) on a small corpus.")
        {
            moe, data, output, experts, steps, rate, seed, batch, length, freezeRouters, evaluation, domainEvaluation, evalWindows, baseline,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string outPath = result.GetValue(output)!.TrimEnd('/', '\\');
            new ArtifactDestination(outPath).Check();
            var options = new AdaptationOptions
            {
                Experts = ExpertSelection.Parse(result.GetValue(experts)!),
                Steps = result.GetValue(steps),
                LearningRate = result.GetValue(rate),
                Seed = result.GetValue(seed),
                BatchSize = result.GetValue(batch),
                SequenceLength = result.GetValue(length),
                TrainRouters = !result.GetValue(freezeRouters),
            };
            options.Validate();
            int windows = result.GetValue(evalWindows);
            if (windows < 1)
            {
                throw new ArgumentException($"--eval-windows must be at least 1, was {windows}.");
            }
            var corpus = AdaptationCorpus.FromFile(result.GetValue(data)!);
            string domainPath = result.GetValue(domainEvaluation) ?? result.GetValue(data)!;
            string? generalPath = result.GetValue(evaluation);
            foreach (string? text in new[] { domainPath, generalPath })
            {
                if (text is not null && !File.Exists(text))
                {
                    throw new FileNotFoundException($"Text file '{text}' does not exist.");
                }
            }
            string? baselinePath = result.GetValue(baseline);

            using LanguageModel model = LanguageModel.Open(result.GetValue(moe)!, CommonOptions.LoadOptions(result));
            if (model.Manifest is null)
            {
                throw new ArgumentException($"'{model.Source}' is a dense model; adapt a .moe artifact (make one with moe convert), or pass the dense model as --baseline.");
            }
            var scorer = new Scorer(model, domainPath, generalPath, windows);

            AdaptReport report = null!;
            CommandRunner.Status.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    Scores moeBefore = scorer.Score(model, context, "scoring MoE before", cancellationToken);
                    AdaptationResult adapted = new ExpertAdapter(options).Adapt(model, corpus, Progress(context, "adapting experts"), cancellationToken);
                    Scores moeAfter = scorer.Score(model, context, "scoring MoE after", cancellationToken);
                    ExpertAdapter.Save(model, adapted.Record, outPath);
                    AdaptationRecord r = adapted.Record;

                    BaselineReport? dense = null;
                    if (baselinePath is not null)
                    {
                        using LanguageModel denseModel = LanguageModel.Open(baselinePath, CommonOptions.LoadOptions(result));
                        Scores denseBefore = scorer.Score(denseModel, context, "scoring dense before", cancellationToken);
                        FineTuningResult tuned = new DenseFeedForwardFineTuner(options).Tune(denseModel, corpus, Progress(context, "fine-tuning dense FFN"), cancellationToken);
                        Scores denseAfter = scorer.Score(denseModel, context, "scoring dense after", cancellationToken);
                        dense = new BaselineReport(baselinePath, tuned.TrainedParameters, tuned.InitialLoss, tuned.FinalLoss, tuned.Duration.TotalSeconds,
                            denseBefore.Domain, denseAfter.Domain, denseBefore.General, denseAfter.General);
                    }
                    report = new AdaptReport(Path.GetFullPath(outPath), model.Source, r.Selection, r.Experts, r.Routers, r.Steps, r.LearningRate, r.Seed,
                        r.Data, r.TrainedParameters, model.Model.CountParameters().Total, r.InitialLoss, r.FinalLoss, adapted.Training.Duration.TotalSeconds,
                        domainPath, moeBefore.Domain, moeAfter.Domain, generalPath, moeBefore.General, moeAfter.General, dense);
                });

            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
                return Task.FromResult(0);
            }
            Print(report);
            return Task.FromResult(0);
        });
        return command;
    }

    private static SynchronousProgress<AdaptationProgress> Progress(ProgressContext context, string name)
    {
        var stages = new Dictionary<string, ProgressTask>();
        return new SynchronousProgress<AdaptationProgress>(p =>
        {
            if (!stages.TryGetValue(p.Stage, out ProgressTask? task))
            {
                task = stages[p.Stage] = context.AddTask($"{name}: {p.Stage}", maxValue: p.Total);
            }
            task.Value = p.Done;
            if (p.Loss is double loss)
            {
                task.Description = $"{name}: {p.Stage} loss {loss:F3}";
            }
        });
    }

    private static void Print(AdaptReport report)
    {
        CommandRunner.Status.MarkupLine($"[grey]adapted {report.Experts.Count} experts ({string.Join(", ", report.Experts.Select(e => $"{e.Layer}:{e.Expert}"))})" +
            $"{(report.Routers.Count > 0 ? $" and the routers of layers {string.Join(", ", report.Routers)}" : "")}: {report.TrainedParameters:N0} of {report.ModelParameters:N0} parameters, " +
            $"{report.Steps} steps at lr {report.LearningRate.ToString("G3", CultureInfo.InvariantCulture)} on {report.Data.Tokens:N0} tokens ({report.Data.Bytes:N0} bytes), " +
            $"loss {report.InitialLoss:F3} → {report.FinalLoss:F3}, {report.TrainingSeconds:F1} s[/]");
        if (report.Baseline is { } b)
        {
            CommandRunner.Status.MarkupLine($"[grey]dense baseline: whole FFN, {b.TrainedParameters:N0} parameters, loss {b.InitialLoss:F3} → {b.FinalLoss:F3}, {b.TrainingSeconds:F1} s[/]");
        }
        var table = new Table().AddColumns("perplexity", "MoE before", "MoE adapted");
        if (report.Baseline is not null)
        {
            table.AddColumns("dense before", "dense FFN-tuned");
        }
        void Row(string name, double? before, double? after, double? denseBefore, double? denseAfter)
        {
            var cells = new List<string> { name, $"{before:F3}", $"{after:F3}" };
            if (report.Baseline is not null)
            {
                cells.AddRange([$"{denseBefore:F3}", $"{denseAfter:F3}"]);
            }
            table.AddRow([.. cells.Select(Markup.Escape)]);
        }
        Row($"domain ({Path.GetFileName(report.DomainText)})", report.DomainBefore, report.DomainAfter, report.Baseline?.DomainBefore, report.Baseline?.DomainAfter);
        if (report.GeneralText is not null)
        {
            Row($"general ({Path.GetFileName(report.GeneralText)})", report.GeneralBefore, report.GeneralAfter, report.Baseline?.GeneralBefore, report.Baseline?.GeneralAfter);
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(report.Artifact)}");
    }

    /// <summary>Scores models on the same domain and general windows.</summary>
    private sealed class Scorer(LanguageModel model, string domainPath, string? generalPath, int windows)
    {
        private readonly TokenWindows _domain = Windows(model, domainPath, windows);
        private readonly TokenWindows? _general = generalPath is null ? null : Windows(model, generalPath, windows);

        public Scores Score(LanguageModel candidate, ProgressContext context, string name, CancellationToken cancellationToken)
        {
            ProgressTask task = context.AddTask(name, maxValue: _domain.Count + (_general?.Count ?? 0));
            double domain = ModelEvaluator.Perplexity(candidate.Model, _domain, new SynchronousProgress<int>(d => task.Value = d), cancellationToken).Perplexity;
            double? general = _general is null ? null
                : ModelEvaluator.Perplexity(candidate.Model, _general, new SynchronousProgress<int>(d => task.Value = _domain.Count + d), cancellationToken).Perplexity;
            return new Scores(domain, general);
        }

        private static TokenWindows Windows(LanguageModel model, string path, int windows) =>
            new(model.RequireTokenizer().Encode(File.ReadAllText(path), addBos: false), 128, windows);
    }

    private sealed record Scores(double Domain, double? General);

    /// <summary>The JSON fields of <c>moe adapt --json</c>. Perplexities are on the same windows before and after.</summary>
    public sealed record AdaptReport(string Artifact, string Source, string Selection, IReadOnlyList<AdaptedExpert> Experts, IReadOnlyList<int> Routers,
        int Steps, double LearningRate, int Seed, AdaptationData Data, long TrainedParameters, long ModelParameters, double InitialLoss, double FinalLoss,
        double TrainingSeconds, string DomainText, double DomainBefore, double DomainAfter, string? GeneralText, double? GeneralBefore, double? GeneralAfter,
        BaselineReport? Baseline);

    /// <summary>The dense whole-FFN fine-tuning baseline of <c>moe adapt --baseline</c>.</summary>
    public sealed record BaselineReport(string Model, long TrainedParameters, double InitialLoss, double FinalLoss, double TrainingSeconds,
        double DomainBefore, double DomainAfter, double? GeneralBefore, double? GeneralAfter);
}
