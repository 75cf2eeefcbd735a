using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Conversion;
using MoESdk.Tests.Loading;
using MoESdk.Training;
using static TorchSharp.torch;

namespace MoESdk.Tests.Training;

[Trait("Category", "Unit")]
public class TrainingLoopTests
{
    private static readonly TrainingLoopOptions Options = new(Steps: 6, LearningRate: 1e-2, WarmupSteps: 2, Seed: 5);

    private static readonly int[] Text = TinyModel.Text(512, seed: 22);

    private static TrainingBatches Batches => new(Text, batchSize: 2, length: 16);

    private static StepLoss NextToken(LlamaModel model) => (inputs, targets) => LanguageModelLoss.NextToken(model.forward(inputs), targets);

    private static Dictionary<string, Tensor> Snapshot(LlamaModel model) =>
        model.NamedWeights().ToDictionary(w => w.Key, w => w.Value.detach().clone());

    [Fact]
    public void OnlyTheTrainedParametersMoveAndTheFrozenOnesAreRestored()
    {
        using LlamaModel model = TinyModel.Dense(seed: 21);
        var ffn = (DenseFeedForward)model.Layers[0].FeedForward;
        Dictionary<string, Tensor> before = Snapshot(model);
        var steps = new List<TrainingStep>();

        using var loop = new TrainingLoop(model, [ffn.Gate.Weight, ffn.Up.Weight], Options);
        IReadOnlyList<double> losses = loop.Run(Batches, NextToken(model), steps.Add);

        Assert.Equal(Options.Steps, losses.Count);
        Assert.Equal([1, 2, 3, 4, 5, 6], steps.Select(s => s.Step));
        Assert.Equal(losses, steps.Select(s => s.Loss));
        Assert.Equal(Options.LearningRate, steps.Max(s => s.LearningRate), 12);
        Dictionary<string, Tensor> after = Snapshot(model);
        var moved = before.Keys.Where(name => !before[name].IsIdenticalTo(after[name])).Order().ToArray();
        Assert.Equal([WeightNames.Gate(0), WeightNames.Up(0)], moved);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.False(model.training);
    }

    [Fact]
    public void AGroupWithoutLearningRateStaysWhereItIs()
    {
        using LlamaModel model = TinyModel.Dense(seed: 23);
        var ffn = (DenseFeedForward)model.Layers[1].FeedForward;
        Tensor gate = ffn.Gate.Weight.detach().clone();
        Tensor up = ffn.Up.Weight.detach().clone();
        var still = new ParameterGroup(RateFactor: 0);

        using var loop = new TrainingLoop(model, [ffn.Gate.Weight, ffn.Up.Weight], Options, p => ReferenceEquals(p, ffn.Gate.Weight) ? still : new ParameterGroup());
        loop.Run(Batches, NextToken(model));

        Assert.True(ffn.Gate.Weight.IsIdenticalTo(gate));
        Assert.False(ffn.Up.Weight.IsIdenticalTo(up));
    }

    [Fact]
    public void ARunCancelledAndResumedFromItsStateEndsWhereAnUninterruptedRunEnds()
    {
        using LlamaModel straight = TinyModel.Dense(seed: 25);
        using (var loop = new TrainingLoop(straight, straight.parameters(), Options))
        {
            loop.Run(Batches, NextToken(straight));
        }

        using LlamaModel resumed = TinyModel.Dense(seed: 25);
        using var state = new MemoryStream();
        using (var cancellation = new CancellationTokenSource())
        using (var loop = new TrainingLoop(resumed, resumed.parameters(), Options))
        {
            Assert.Throws<OperationCanceledException>(() => loop.Run(Batches, NextToken(resumed), step =>
            {
                if (step.Step == 3)
                {
                    cancellation.Cancel();
                }
            }, cancellation.Token));
            Assert.Equal(3, loop.Step);
            Assert.False(resumed.training);
            loop.SaveState(new BinaryWriter(state));
        }
        state.Position = 0;
        using (var loop = new TrainingLoop(resumed, resumed.parameters(), Options))
        {
            loop.LoadState(new BinaryReader(state));
            Assert.Equal(3, loop.Run(Batches, NextToken(resumed)).Count);
        }

        Dictionary<string, Tensor> expected = Snapshot(straight);
        Assert.All(Snapshot(resumed), w => Assert.True(w.Value.IsIdenticalTo(expected[w.Key]), w.Key));
    }
}
