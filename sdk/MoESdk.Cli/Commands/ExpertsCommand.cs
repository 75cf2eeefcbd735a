using System.CommandLine;
using MoESdk.Cli.Reports;
using MoESdk.Evaluation;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe experts</c>: what each expert of an artifact does on a text: load per layer and expert, the tokens
/// and contexts routed to it most, load imbalance; optionally a self-contained HTML report.
/// </summary>
public static class ExpertsCommand
{
    public static Command Create()
    {
        var moe = new Option<string>("--moe") { Description = "The .moe artifact to inspect.", Required = true };
        var text = new Option<string>("--text") { Description = "UTF-8 text to route.", Required = true };
        var html = new Option<string?>("--html") { Description = "Also write a self-contained HTML report (load heatmap, per-token expert attribution) to this file." };
        var window = new Option<int>("--window") { Description = "Tokens per window.", DefaultValueFactory = _ => 128 };
        var maxWindows = new Option<int>("--max-windows") { Description = "Route at most this many windows of the text.", DefaultValueFactory = _ => 64 };
        var top = new Option<int>("--top") { Description = "Tokens and contexts listed per expert.", DefaultValueFactory = _ => 8 };
        var layer = new Option<int>("--layer") { Description = "Layer whose routing the HTML token attribution opens with.", DefaultValueFactory = _ => 0 };
        var sample = new Option<int>("--sample-tokens") { Description = "Tokens of the text shown with their experts in the HTML report.", DefaultValueFactory = _ => 400 };
        var command = new Command("experts", "Expert load and specialization of a Mixture-of-Experts artifact on a text: per layer and expert, share of tokens, most-routed tokens and contexts, imbalance.")
        {
            moe, text, html, window, maxWindows, top, layer, sample,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string textPath = result.GetValue(text)!;
            if (!File.Exists(textPath))
            {
                throw new FileNotFoundException($"Text file '{textPath}' does not exist.");
            }
            foreach ((string name, int value) in new[] { ("--window", result.GetValue(window)), ("--max-windows", result.GetValue(maxWindows)), ("--top", result.GetValue(top)), ("--sample-tokens", result.GetValue(sample)) })
            {
                if (value < 1)
                {
                    throw new ArgumentException($"{name} must be at least 1, was {value}.");
                }
            }
            using LanguageModel model = LanguageModel.Open(result.GetValue(moe)!, CommonOptions.LoadOptions(result));
            int attributionLayer = result.GetValue(layer);
            if (attributionLayer < 0 || attributionLayer >= model.Model.Layers.Length)
            {
                throw new ArgumentException($"--layer must be in 0..{model.Model.Layers.Length - 1}, was {attributionLayer}.");
            }
            var tokenizer = model.RequireTokenizer();
            IReadOnlyList<int> tokens = tokenizer.Encode(File.ReadAllText(textPath), addBos: false);
            int windowLength = result.GetValue(window);
            int windows = Math.Min(result.GetValue(maxWindows), Math.Max(1, (tokens.Count - 1) / windowLength));

            RoutingProfile profile = CommandRunner.Status.Progress().Start(context =>
            {
                ProgressTask task = context.AddTask("routing the text", maxValue: windows);
                return RoutingProfile.Collect(model.Model, tokens, windowLength, windows, new SynchronousProgress<int>(d => task.Value = d), cancellationToken);
            });
            ExpertUsageReport usage = ExpertUsageReport.Build(profile, tokenizer, result.GetValue(top), result.GetValue(top));

            string? htmlPath = result.GetValue(html);
            if (htmlPath is not null)
            {
                string page = ExpertReportPage.Render(model.Source, textPath, profile, usage, tokenizer, attributionLayer, result.GetValue(sample));
                File.WriteAllText(htmlPath, page);
            }
            var report = new ExpertsReport(model.Source, textPath, usage.Tokens, windowLength, htmlPath is null ? null : Path.GetFullPath(htmlPath), usage.Layers);
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

    private static void Print(ExpertsReport report)
    {
        foreach (LayerUsage layer in report.Layers)
        {
            var table = new Table()
                .Title($"layer {layer.Layer}: top-{layer.TopK} of {layer.Experts.Count}, imbalance (max/mean) {layer.Imbalance:F2}")
                .AddColumns("expert", "tokens", "share", "most routed tokens (share of the token's occurrences)", "contexts");
            foreach (ExpertUsage e in layer.Experts)
            {
                table.AddRow(
                    e.Expert.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"{e.Count:N0}",
                    $"{e.Share:P1}",
                    Markup.Escape(string.Join("  ", e.TopTokens.Take(6).Select(t => $"{Show(t.Text)} {t.OfOccurrences:P0}"))),
                    Markup.Escape(string.Join("  ", e.TopContexts.Take(3).Select(c => $"{Show(c.Before)}[{Show(c.Token)}]"))));
            }
            AnsiConsole.Write(table);
        }
        AnsiConsole.MarkupLine($"{report.Tokens:N0} tokens routed" + (report.Html is null ? "" : $"; wrote {Markup.Escape(report.Html)}"));
    }

    /// <summary>A token for a one-line table cell: quoted, with line breaks and tabs made visible.</summary>
    private static string Show(string token) => $"'{token.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)}'";

    /// <summary>The JSON fields of <c>moe experts --json</c>.</summary>
    internal sealed record ExpertsReport(string Model, string Text, long Tokens, int WindowLength, string? Html, IReadOnlyList<LayerUsage> Layers);
}
