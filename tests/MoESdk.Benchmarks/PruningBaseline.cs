using System.Diagnostics;
using MoESdk;
using MoESdk.Conversion;
using MoESdk.Evaluation;
using MoESdk.Modules;
using static TorchSharp.torch;

/// <summary>
/// The same-budget static structured-pruning baseline ToMoE's paper compares with: every layer keeps the budget's share
/// of its FFN neurons for every token, the ones with the largest expected contribution on the calibration text
/// (mean |silu(gate·x) ⊙ up·x| times the norm of the neuron's down column), the rest are removed. A dynamic method
/// (ToMoE, the MoE partitions) must beat this to be worth its router. Measured on the held-out windows of `moe convert`.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- prune [model=models/kjv-llama] [budgets=0.25,0.5]
/// </summary>
internal static class PruningBaseline
{
    private const int WindowLength = 128, MaxWindows = 32;

    public static void Run(string[] args)
    {
        string path = args.Length > 0 ? args[0] : "models/kjv-llama";
        double[] budgets = (args.Length > 1 ? args[1] : "0.25,0.5").Split(',').Select(b => double.Parse(b, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        using LanguageModel dense = LanguageModel.Open(path);
        var tokenizer = dense.RequireTokenizer();
        IReadOnlyList<int> calibration = tokenizer.Encode(File.ReadAllText(Path.Combine(path, "data", "calibration.txt")), addBos: false);
        IReadOnlyList<int> heldout = tokenizer.Encode(File.ReadAllText(Path.Combine(path, "data", "heldout.txt")), addBos: false);
        var options = new ConversionOptions();
        var clock = Stopwatch.StartNew();
        Tensor[] inputs = MoEConverter.CollectInputs(dense.Model, options, calibration, null, CancellationToken.None);
        Tensor[] importance = dense.Model.Layers.Select((layer, i) => Importance((DenseFeedForward)layer.FeedForward, inputs[i])).ToArray();
        Console.WriteLine($"calibration {Math.Min(calibration.Count, options.CalibrationTokens)} tokens, importance in {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"{"budget",7} {"kept neurons/layer",19} {"ppl ratio",10} {"accuracy kept",14}");
        foreach (double budget in budgets)
        {
            using LlamaModel pruned = new(dense.Model, layer => Keep((DenseFeedForward)dense.Model.Layers[layer].FeedForward, importance[layer], budget));
            ComparisonResult result = ModelEvaluator.Compare(dense.Model, pruned, new TokenWindows(heldout, WindowLength, MaxWindows));
            int kept = (int)Math.Round(budget * dense.Model.Config.IntermediateSize);
            Console.WriteLine($"{budget,7:P0} {kept,19} {result.PerplexityRatio,10:F3} {result.AccuracyKept,14:P1}");
        }
    }

    /// <summary>Expected |contribution| of each neuron to the layer's output on the calibration inputs [width].</summary>
    private static Tensor Importance(DenseFeedForward ffn, Tensor inputs)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor activity = NeuronActivity.Of(ffn, inputs).abs().mean([0]);
        return (activity * ffn.Down.Weight.norm(0)).MoveToOuterDisposeScope();
    }

    private static FeedForward Keep(DenseFeedForward ffn, Tensor importance, double budget)
    {
        int kept = (int)Math.Round(budget * importance.shape[0]);
        int[] neurons = [.. importance.topk(kept).indexes.data<long>().Select(n => (int)n).Order()];
        return ExpertSlicer.Slice(ffn, neurons);
    }
}
