using System.CommandLine;
using MoESdk.Evaluation;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe eval</c>: perplexity on a text file; with --compare, both models and their KL divergence.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var text = new Option<string>("--text") { Description = "UTF-8 text file to score.", Required = true };
        var compare = new Option<string?>("--compare") { Description = "A second model (e.g. the MoE conversion) scored on the same windows; adds KL(model ‖ compare)." };
        var window = new Option<int>("--window") { Description = "Tokens per window.", DefaultValueFactory = _ => 256 };
        var maxWindows = new Option<int?>("--max-windows") { Description = "Score at most this many windows (default: the whole text)." };
        var dtypes = new Option<string[]>("--dtype")
        {
            Description = "Also score --model as generation computes it, decoding one token at a time with the kernels reading the weights " +
                "in each precision given (f32, bf16, int8, int4); ratios over the first.",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("eval", "Perplexity of a model on a text (fixed windows, exp of mean NLL); with --compare, of two models plus their mean per-token KL.")
        {
            CommonOptions.Model, text, compare, window, maxWindows, dtypes,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string textPath = result.GetValue(text)!;
            if (!File.Exists(textPath))
            {
                throw new FileNotFoundException($"Text file '{textPath}' does not exist.");
            }
            using LanguageModel model = LanguageModel.Open(result.GetValue(CommonOptions.Model)!, CommonOptions.LoadOptions(result));
            using LanguageModel? other = result.GetValue(compare) is string comparePath ? LanguageModel.Open(comparePath, CommonOptions.LoadOptions(result)) : null;
            IReadOnlyList<int> tokens = model.RequireTokenizer().Encode(File.ReadAllText(textPath), addBos: false);
            var windows = new TokenWindows(tokens, result.GetValue(window), result.GetValue(maxWindows));
            Inference.DecodePrecision[] precisions = (result.GetValue(dtypes) ?? []).Select(DecodePrecisionNames.Parse).Distinct().ToArray();

            EvalReport report = CommandRunner.Status.Progress().Start(progressContext =>
            {
                ProgressTask task = progressContext.AddTask("scoring windows", maxValue: windows.Count);
                var progress = new Progress<int>(done => task.Value = done);
                IReadOnlyList<PrecisionReport>? byPrecision = ScorePrecisions(model, windows, precisions, progressContext, cancellationToken);
                if (other is null)
                {
                    PerplexityResult ppl = ModelEvaluator.Perplexity(model.Model, windows, progress, cancellationToken);
                    return new EvalReport(model.Source, textPath, ppl.Tokens, ppl.Windows, ppl.WindowLength, ppl.Perplexity, ppl.MeanNegativeLogLikelihood,
                        ppl.TopOneAccuracy!.Value, model.Model.CountParameters().ActiveFeedForwardRatio, null, byPrecision);
                }
                ComparisonResult c = ModelEvaluator.Compare(model.Model, other.Model, windows, progress, cancellationToken);
                return new EvalReport(model.Source, textPath, c.Reference.Tokens, c.Reference.Windows, c.Reference.WindowLength,
                    c.Reference.Perplexity, c.Reference.MeanNegativeLogLikelihood, c.Reference.TopOneAccuracy!.Value, model.Model.CountParameters().ActiveFeedForwardRatio,
                    new CompareReport(other.Source, c.Candidate.Perplexity, c.Candidate.MeanNegativeLogLikelihood, c.PerplexityRatio,
                        c.MeanKlDivergence, c.Candidate.TopOneAccuracy!.Value, c.AccuracyKept, other.Model.CountParameters().ActiveFeedForwardRatio), byPrecision);
            });

            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
                return Task.FromResult(0);
            }
            var table = new Table().AddColumns("model", "perplexity", "mean NLL", "top-1 accuracy", "active FFN");
            table.AddRow(Markup.Escape(report.Model), $"{report.Perplexity:F3}", $"{report.MeanNegativeLogLikelihood:F4}", $"{report.TopOneAccuracy:P1}", $"{report.ActiveFeedForwardRatio:P1}");
            if (report.Compare is { } cr)
            {
                table.AddRow(Markup.Escape(cr.Model), $"{cr.Perplexity:F3}", $"{cr.MeanNegativeLogLikelihood:F4}", $"{cr.TopOneAccuracy:P1}", $"{cr.ActiveFeedForwardRatio:P1}");
            }
            foreach (PrecisionReport p in report.Precisions ?? [])
            {
                table.AddRow(Markup.Escape($"{report.Model} ({p.Precision} decode)"), $"{p.Perplexity:F3} (×{p.PerplexityRatio:F4})", $"{p.MeanNegativeLogLikelihood:F4}", $"{p.TopOneAccuracy:P1}", "");
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{report.Tokens:N0} tokens in {report.Windows} windows of {report.WindowLength}" +
                (report.Compare is { } k ? $"; perplexity ratio {k.PerplexityRatio:F3}, mean KL {k.MeanKlDivergence:F4} nats/token, accuracy kept {k.AccuracyKept:P1}" : ""));
            return Task.FromResult(0);
        });
        return command;
    }

    private static IReadOnlyList<PrecisionReport>? ScorePrecisions(LanguageModel model, TokenWindows windows, Inference.DecodePrecision[] precisions,
        ProgressContext progressContext, CancellationToken cancellationToken)
    {
        if (precisions.Length == 0)
        {
            return null;
        }
        var scores = new List<PerplexityResult>();
        foreach (Inference.DecodePrecision precision in precisions)
        {
            ProgressTask task = progressContext.AddTask($"decoding windows ({DecodePrecisionNames.Name(precision)})", maxValue: windows.Count);
            scores.Add(ModelEvaluator.DecodePerplexity(model.Model, windows, precision, new Progress<int>(done => task.Value = done), cancellationToken));
        }
        return precisions.Select((p, i) => new PrecisionReport(DecodePrecisionNames.Name(p), scores[i].Perplexity, scores[i].MeanNegativeLogLikelihood,
            scores[i].TopOneAccuracy!.Value, scores[i].Perplexity / scores[0].Perplexity)).ToArray();
    }

    /// <summary>The JSON fields of <c>moe eval --json</c>.</summary>
    public sealed record EvalReport(string Model, string Text, long Tokens, int Windows, int WindowLength, double Perplexity,
        double MeanNegativeLogLikelihood, double TopOneAccuracy, double ActiveFeedForwardRatio, CompareReport? Compare,
        IReadOnlyList<PrecisionReport>? Precisions = null);

    /// <summary>--model scored through the decode path in one precision (<c>moe eval --dtype</c>); the ratio is over the first precision given.</summary>
    public sealed record PrecisionReport(string Precision, double Perplexity, double MeanNegativeLogLikelihood, double TopOneAccuracy, double PerplexityRatio);

    /// <summary>The second model of <c>moe eval --compare</c>.</summary>
    public sealed record CompareReport(string Model, double Perplexity, double MeanNegativeLogLikelihood, double PerplexityRatio,
        double MeanKlDivergence, double TopOneAccuracy, double? AccuracyKept, double ActiveFeedForwardRatio);
}
