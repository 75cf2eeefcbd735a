using System.CommandLine;
using MoESdk.Loading;
using MoESdk.Modules;
using Spectre.Console;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe inspect</c>: architecture, shapes and parameter counts by part.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var command = new Command("inspect", "Show a model's architecture, parameter counts by part and feed-forward share.")
        {
            CommonOptions.Model,
        };
        CommandRunner.SetAction(command, (result, _) =>
        {
            string path = result.GetValue(CommonOptions.Model)!;
            using LanguageModel model = LanguageModel.Open(path, CommonOptions.LoadOptions(result));
            ModelConfig c = model.Model.Config;
            ParameterCounts counts = model.Model.CountParameters();
            var report = new InspectReport(path, c.Architecture, c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads,
                c.NumKeyValueHeads, c.HeadDim, c.VocabSize, c.MaxPositions, c.RopeTheta, c.TieWordEmbeddings,
                model.Tokenizer?.GetType().Name, counts.Total, counts.Embedding, counts.Head, counts.Attention, counts.Norms,
                counts.FeedForward, counts.FeedForwardShare, counts.ActiveFeedForwardRatio);
            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
                return Task.FromResult(0);
            }
            var table = new Table().AddColumns("", "");
            table.AddRow("architecture", c.Architecture);
            table.AddRow("hidden / ffn / layers", $"{c.HiddenSize} / {c.IntermediateSize} / {c.NumLayers}");
            table.AddRow("heads / kv heads / head dim", $"{c.NumHeads} / {c.NumKeyValueHeads} / {c.HeadDim}");
            table.AddRow("vocabulary / context", $"{c.VocabSize} / {c.MaxPositions}");
            table.AddRow("rope theta / tied head", $"{c.RopeTheta} / {c.TieWordEmbeddings}");
            table.AddRow("tokenizer", Markup.Escape(report.Tokenizer ?? "none"));
            table.AddRow("parameters", $"{counts.Total:N0}");
            table.AddRow("  embedding / head", $"{counts.Embedding:N0} / {counts.Head:N0}");
            table.AddRow("  attention", $"{counts.Attention:N0}");
            table.AddRow("  norms", $"{counts.Norms:N0}");
            table.AddRow("  feed-forward", $"{counts.FeedForward:N0} ({counts.FeedForwardShare:P1} of all)");
            table.AddRow("active feed-forward ratio", $"{counts.ActiveFeedForwardRatio:P1}");
            AnsiConsole.Write(table);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The JSON fields of <c>moe inspect --json</c>.</summary>
    public sealed record InspectReport(string Model, string Architecture, int HiddenSize, int IntermediateSize, int Layers, int Heads,
        int KeyValueHeads, int HeadDim, int VocabSize, int ContextLength, double RopeTheta, bool TiedEmbeddings, string? Tokenizer,
        long Parameters, long EmbeddingParameters, long HeadParameters, long AttentionParameters, long NormParameters,
        long FeedForwardParameters, double FeedForwardShare, double ActiveFeedForwardRatio);
}
