using MoESdk.Conversion;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class ToMoETrainerTests
{
    [Fact]
    public void ExportHasTheRequestedActiveRatioAndLossDecreases()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 11);
        int[] text = TinyModel.Text(512, seed: 12);
        var recipe = new TrainingRecipe(Steps: 40, BatchSize: 4, SequenceLength: 32, LearningRate: ToMoETrainer.DefaultLearningRate, Seed: 3);

        (MixtureOfExpertsFeedForward[] blocks, TrainingOutcome outcome) = ToMoETrainer.Convert(dense, experts: 4, budget: 0.25, text, recipe);
        using var moe = new LlamaModel(dense, i => blocks[i]);

        Assert.True(outcome.LastLoss < outcome.FirstLoss, $"loss {outcome.FirstLoss} → {outcome.LastLoss}");
        Assert.All(blocks, b =>
        {
            Assert.Equal(1, b.TopK);
            Assert.Empty(b.SharedExperts);
            Assert.All(b.Experts, e => Assert.Equal(16, e.Width));
        });
        double active = (double)moe.CountParameters().FeedForwardActive / dense.CountParameters().FeedForward;
        // 16 of 64 channels plus the router's 4 × 32 weights.
        Assert.InRange(active, 0.25, 0.25 + 0.03);
        Assert.False(TinyModel.Logits(moe).isnan().any().item<bool>());
    }

    [Fact]
    public void FullBudgetExportsExpertsThatAreTheDenseFfn()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 13);
        var recipe = new TrainingRecipe(Steps: 3, BatchSize: 2, SequenceLength: 32, LearningRate: 1e-2, Seed: 0);
        (MixtureOfExpertsFeedForward[] blocks, _) = ToMoETrainer.Convert(dense, experts: 4, budget: 1.0, TinyModel.Text(200, 1), recipe);
        using var moe = new LlamaModel(dense, i => blocks[i]);
        Assert.True((TinyModel.Logits(dense) - TinyModel.Logits(moe)).abs().max().item<float>() < 1e-4f);
    }

    [Fact]
    public void TheDenseModelIsLeftAsItWas()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 15);
        Tensor before = TinyModel.Logits(dense);
        var recipe = new TrainingRecipe(Steps: 3, BatchSize: 2, SequenceLength: 32, LearningRate: ToMoETrainer.DefaultLearningRate, Seed: 1);

        (MixtureOfExpertsFeedForward[] blocks, _) = ToMoETrainer.Convert(dense, experts: 4, budget: 0.25, TinyModel.Text(200, 2), recipe);
        using var moe = new LlamaModel(dense, i => blocks[i]);

        // The masks learn on top of the dense FFNs; the FFNs themselves neither move nor keep gradients.
        Assert.True(TinyModel.Logits(dense).IsIdenticalTo(before));
        Assert.All(dense.parameters(), p => Assert.True(p.requires_grad));
        Assert.All(dense.parameters(), p => Assert.Null(p.grad));
    }

    [Theory]
    [InlineData(768, 0.25, 192)]
    [InlineData(768, 0.5, 384)]
    [InlineData(100, 0.3, 32)]
    [InlineData(64, 0.01, 8)]
    [InlineData(4, 0.5, 4)]
    public void ExpertWidthIsTheBudgetRoundedToEight(int intermediate, double budget, int expected) =>
        Assert.Equal(expected, ToMoETrainer.ExpertWidth(intermediate, budget));
}
