using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Sweep;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe sweep</c>: converts a grid of recipes, measures each one's quality and decode speed-up against the dense model,
/// and writes the results (<c>sweep.json</c>) and the quality–speed frontier (<c>frontier.html</c>). A stopped sweep
/// resumes where it stopped.
/// </summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for sweep.json and frontier.html; a rerun with the same inputs resumes there.", Required = true };
        var calibration = new Option<string>("--calibration") { Description = "Calibration text (UTF-8), as for convert.", Required = true };
        var evaluation = new Option<string?>("--eval") { Description = "Held-out text the recipes are scored on (default: the calibration text)." };
        var budgets = new Option<string>("--budgets") { Description = "Shares of the FFN a token uses, comma-separated.", DefaultValueFactory = _ => "0.25,0.5" };
        var methods = new Option<string>("--methods") { Description = $"Methods, comma-separated: some of {ConversionChoice.Names<MoEMethod>()}.", DefaultValueFactory = _ => ConversionChoice.Names<MoEMethod>().Replace(" ", "", StringComparison.Ordinal) };
        var granularities = new Option<string>("--granularities") { Description = "Slices the FFN is cut into (8: eight large experts; 32: fine-grained), comma-separated.", DefaultValueFactory = _ => "8,32" };
        var routers = new Option<string?>("--routers") { Description = "Routers of the partition methods, comma-separated: analytic, par (default: each method's own)." };
        var maxRatio = new Option<double?>("--max-ppl-ratio") { Description = "Name the fastest recipe whose perplexity is at most this multiple of the dense model's, e.g. 1.3." };
        var repetitions = new Option<int>("--repetitions") { Description = "Timed decode/prefill runs per recipe (medians).", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of every conversion.", DefaultValueFactory = _ => 0 };
        var command = new Command("sweep", "Convert a grid of recipes and chart their quality against their decode speed-up: the quality–speed frontier.")
        {
            CommonOptions.Model, output, calibration, evaluation, budgets, methods, granularities, routers, maxRatio, repetitions, seed,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string modelPath = result.GetValue(CommonOptions.Model)!;
            string folder = result.GetValue(output)!;
            string calibrationPath = result.GetValue(calibration)!;
            string evalPath = result.GetValue(evaluation) ?? calibrationPath;
            double? target = result.GetValue(maxRatio);
            int timedRuns = result.GetValue(repetitions);
            if (target is <= 0 || timedRuns < 1)
            {
                throw new ArgumentException(target is <= 0 ? $"--max-ppl-ratio must be positive, was {target}." : $"--repetitions must be at least 1, was {timedRuns}.");
            }
            foreach (string text in new[] { calibrationPath, evalPath })
            {
                if (!File.Exists(text))
                {
                    throw new CalibrationTextException($"Text file '{text}' does not exist.");
                }
            }
            IReadOnlyList<double> budgetList = List(result.GetValue(budgets)!, "--budgets", Budget);
            IReadOnlyList<MoEMethod> methodList = List(result.GetValue(methods)!, "--methods", Known<MoEMethod>);
            IReadOnlyList<int> sliceList = List(result.GetValue(granularities)!, "--granularities", Slices);
            IReadOnlyList<MoERouter> routerList = result.GetValue(routers) is string r ? List(r, "--routers", Known<MoERouter>) : [];

            using LanguageModel dense = LanguageModel.Open(modelPath, CommonOptions.LoadOptions(result));
            (IReadOnlyList<SweepRecipe> recipes, IReadOnlyList<string> skipped) = SweepGrid.For(dense.Model.Config, budgetList, methodList, sliceList, routerList);
            int seedValue = result.GetValue(seed);
            foreach (SweepRecipe recipe in recipes)
            {
                recipe.Options(seedValue).Validate(dense.Model.Config);
            }
            Directory.CreateDirectory(folder);
            SweepLog log = SweepLog.Open(folder, SweepInputs.Of(modelPath, calibrationPath, evalPath, seedValue));
            var toDo = recipes.Where(recipe => !log.Contains(recipe)).ToArray();
            foreach (string reason in skipped)
            {
                CommandRunner.Status.MarkupLine($"[yellow]skipped[/] {Markup.Escape(reason)}");
            }
            CommandRunner.Status.MarkupLine($"[grey]{recipes.Count} recipes: {recipes.Count - toDo.Length} measured before, {toDo.Length} to convert[/]");

            var tokenizer = dense.RequireTokenizer();
            IReadOnlyList<int> calibrationTokens = tokenizer.Encode(CalibrationText.Decode(File.ReadAllBytes(calibrationPath)), addBos: false);
            IReadOnlyList<int> evalTokens = evalPath == calibrationPath ? calibrationTokens : tokenizer.Encode(File.ReadAllText(evalPath), addBos: false);
            string page = Path.Combine(folder, FrontierPage.FileName);
            void Measure(SweepRecipe recipe, IStageProgress stages)
            {
                ConversionOptions options = recipe.Options(seedValue);
                var clock = Stopwatch.StartNew();
                ConversionResult conversion = MoEConverter.Convert(dense.Model, options, calibrationTokens,
                    new SynchronousProgress<ConversionProgress>(p => stages.Report(p.Stage, p.Done, p.Total, p.Detail)), cancellationToken);
                double seconds = clock.Elapsed.TotalSeconds;
                using Modules.LlamaModel moe = conversion.Model;
                var quality = ConversionMeasurement.Quality(dense.Model, moe, evalTokens, stages, cancellationToken);
                var speed = ConversionMeasurement.Speed(dense.Model, moe, timedRuns, stages, cancellationToken);
                log.Add(new SweepPoint(recipe.Flags, ConversionChoice.Name(recipe.Method), recipe.Experts, recipe.ExpertsPerToken, recipe.SharedExperts, conversion.Router,
                    options.TrainingSteps, recipe.TargetBudget, conversion.ActiveFeedForwardRatio(dense.Model), quality.Reference.Perplexity, quality.Candidate.Perplexity,
                    quality.PerplexityRatio, quality.MeanKlDivergence, quality.AccuracyKept, speed[1].DecodeTokensPerSecond / speed[0].DecodeTokensPerSecond,
                    speed[1].PrefillTokensPerSecond / speed[0].PrefillTokensPerSecond, seconds));
                AtomicFile.Write(page, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(FrontierPage.Render(log.Inputs, log.Points, target))));
            }
            void Run(IStageProgress stages, Action<int> recipeDone)
            {
                for (int i = 0; i < toDo.Length; i++)
                {
                    stages.Report("sweep", i, toDo.Length, toDo[i].Flags);
                    Measure(toDo[i], stages);
                    recipeDone(i + 1);
                }
            }
            if (result.GetValue(CommonOptions.MSBuild) || toDo.Length == 0)
            {
                Run(new ProgressLineStages(Console.Error), _ => { });
            }
            else
            {
                CommandRunner.Status.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(context =>
                    {
                        var stages = new ProgressBarStages(context);
                        Run(stages, done => stages.Report("sweep", done, toDo.Length));
                    });
            }
            // Written even when nothing was left to convert: a rerun with another --max-ppl-ratio redraws the target.
            AtomicFile.Write(page, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(FrontierPage.Render(log.Inputs, log.Points, target))));
            Report(log, recipes, skipped, target, page, result.GetValue(CommonOptions.Json));
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Report(SweepLog log, IReadOnlyList<SweepRecipe> recipes, IReadOnlyList<string> skipped, double? target, string page, bool json)
    {
        var keys = recipes.Select(r => r.Flags).ToHashSet();
        var points = log.Points.Where(p => keys.Contains(p.Recipe)).ToArray();
        IReadOnlyList<SweepPoint> frontier = Frontier.Of(points);
        SweepPoint? best = target is double max ? Frontier.FastestWithin(points, max) : null;
        if (json)
        {
            CommandRunner.WriteJson(new SweepReport(log.Path, page, points, frontier.Select(p => p.Recipe).ToArray(), best?.Recipe, skipped));
            return;
        }
        var table = new Table().AddColumns("recipe", "budget", "active FFN", "ppl ratio", "accuracy kept", "decode ×", "prefill ×", "convert s");
        foreach (SweepPoint p in points.OrderBy(p => p.Budget).ThenByDescending(p => p.DecodeSpeedup))
        {
            string name = frontier.Contains(p) ? $"[bold]{Markup.Escape(p.Recipe)}[/] (frontier)" : Markup.Escape(p.Recipe);
            table.AddRow(name, F($"{p.Budget:0.##}"), F($"{p.ActiveFeedForwardRatio:P1}"), F($"{p.PerplexityRatio:F3}"),
                p.AccuracyKept is double kept ? F($"{kept:P1}") : "", F($"{p.DecodeSpeedup:F2}"), F($"{p.PrefillSpeedup:F2}"), F($"{p.ConversionSeconds:F1}"));
        }
        AnsiConsole.Write(table);
        if (target is double limit)
        {
            AnsiConsole.MarkupLine(best is null
                ? F($"no recipe keeps the perplexity ratio within {limit:0.###}; the lowest is {points.Min(p => p.PerplexityRatio):F3}")
                : F($"fastest within a perplexity ratio of {limit:0.###}: [bold]{Markup.Escape(best.Recipe)}[/] (decode {best.DecodeSpeedup:F2}×, ratio {best.PerplexityRatio:F3})"));
        }
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(log.Path)} and {Markup.Escape(page)}");
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static T Known<T>(string name) where T : struct, Enum => ConversionChoice.TryParse(name, out T choice)
        ? choice
        : throw new ArgumentException($"unknown {(typeof(T) == typeof(MoEMethod) ? "method" : "router")} '{name}'; use some of {ConversionChoice.Names<T>()}.");

    private static double Budget(string text) =>
        double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) is var budget and > 0 and <= 1
            ? budget
            : throw new ArgumentException($"{text} is not a share of the FFN; use values in (0, 1], e.g. 0.25,0.5.");

    private static int Slices(string text) =>
        int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) is var slices and >= 2
            ? slices
            : throw new ArgumentException($"{text} slices make no experts; use 2 or more, e.g. 8,32.");

    private static IReadOnlyList<T> List<T>(string text, string option, Func<string, T> parse)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0)
        {
            throw new ArgumentException($"{option} needs at least one value.");
        }
        try
        {
            return items.Select(parse).Distinct().ToArray();
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new ArgumentException($"{option}: '{text}' is not a comma-separated list of numbers in range.");
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{option}: {ex.Message}");
        }
    }

    /// <summary>The JSON of <c>moe sweep --json</c>: every point measured, the frontier's and the best recipe's flags.</summary>
    internal sealed record SweepReport(string Log, string Page, IReadOnlyList<SweepPoint> Points, IReadOnlyList<string> Frontier, string? Best, IReadOnlyList<string> Skipped);
}
