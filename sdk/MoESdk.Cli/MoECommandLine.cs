using System.CommandLine;
using MoESdk.Cli.Commands;

namespace MoESdk.Cli;

/// <summary>The <c>moe</c> command and its subcommands.</summary>
public static class MoECommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("moe: run, evaluate, inspect, pretrain and convert LLaMA-family models into Mixture-of-Experts models.")
        {
            CommonOptions.Json,
            CommonOptions.Verbose,
            CommonOptions.MSBuild,
            CommonOptions.TrustWeights,
        };
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(AdaptCommand.Create());
        root.Subcommands.Add(ExpertsCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(SweepCommand.Create());
        return root;
    }
}
