using MoESdk.Conversion;
using MoESdk.Evaluation;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

[Trait("Category", "Unit")]
public class PriorApproximateRouterTrainerTests
{
    private static readonly TrainingRecipe Recipe = new(Steps: 40, BatchSize: 4, SequenceLength: 32, LearningRate: 2e-3, Seed: 1);

    private static double Perplexity(LlamaModel model, int[] text) => ModelEvaluator.Perplexity(model, new TokenWindows(text, 32)).Perplexity;

    [Fact]
    public void TrainingMovesTheRouterAndLowersTheLoss()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 1);
        int[] text = TinyModel.Text(512, seed: 2);
        ConversionResult analytic = MoEConverter.Convert(dense, TinyModel.Options(MoEMethod.Factor) with { Router = MoERouter.Analytic }, text);
        using LlamaModel moe = analytic.Model;
        var routers = moe.Layers.Select(l => ((MixtureOfExpertsFeedForward)l.FeedForward).Router.Weight.detach().clone()).ToArray();
        Tensor embedding = dense.Embedding.detach().clone();
        double before = Perplexity(moe, text);

        TrainingOutcome outcome = PriorApproximateRouterTrainer.Train(dense, moe, text, Recipe, distill: false);

        double after = Perplexity(moe, text);
        Assert.True(outcome.LastLoss < outcome.FirstLoss, $"training loss {outcome.FirstLoss} → {outcome.LastLoss}");
        Assert.True(after < before, $"perplexity {before} → {after}");
        for (int layer = 0; layer < routers.Length; layer++)
        {
            Tensor trained = ((MixtureOfExpertsFeedForward)moe.Layers[layer].FeedForward).Router.Weight;
            Assert.True((trained - routers[layer]).abs().max().item<float>() > 1e-4f, $"router of layer {layer} did not move");
        }
        // Frozen parts stay as they were, and take gradients again as before.
        Assert.True(((Tensor)dense.Embedding).IsIdenticalTo(embedding));
        Assert.True(dense.Embedding.requires_grad);
    }

    [Fact]
    public void DistillationBringsTheMoECloserToTheDenseModel()
    {
        using LlamaModel dense = TinyModel.Dense(seed: 3);
        int[] text = TinyModel.Text(512, seed: 4);
        using LlamaModel moe = MoEConverter.Convert(dense, TinyModel.Options(MoEMethod.Factor) with { Router = MoERouter.Analytic }, text).Model;
        var windows = new TokenWindows(text, 32);
        double before = ModelEvaluator.Compare(dense, moe, windows).MeanKlDivergence;

        PriorApproximateRouterTrainer.Train(dense, moe, text, Recipe, distill: true);

        double after = ModelEvaluator.Compare(dense, moe, windows).MeanKlDivergence;
        Assert.True(after < before, $"KL(dense ‖ MoE) {before} → {after}");
    }

    [Fact]
    public void BalanceLossIsOneWhenEvenAndNOverKWhenCollapsed()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(1.0, PriorApproximateRouterTrainer.BalanceLoss(zeros(10, 8), 2).item<float>(), 5);
        Tensor collapsed = zeros(10, 8);
        collapsed[TensorIndex.Colon, 0] = 100f;
        Assert.Equal(8.0, PriorApproximateRouterTrainer.BalanceLoss(collapsed, 1).item<float>(), 3);
    }

    [Fact]
    public void PriorLabelPicksTheExpertsThatAloneApproximateTheDenseShare()
    {
        using var scope = NewDisposeScope();
        using LlamaModel dense = TinyModel.Dense(seed: 5);
        var ffn = (DenseFeedForward)dense.Layers[0].FeedForward;
        using MixtureOfExpertsFeedForward block = ExpertSlicer.Build(ffn, ContiguousPartitioner.Split(64, 4), zeros(4, 32), 1, ExpertOutputRule.FixedScale);
        Tensor x = randn(20, 32);
        Tensor errors;
        using (no_grad())
        {
            Tensor share = ffn.forward(x) / block.FixedScale;
            errors = stack(block.Experts.Select(e => (e.forward(x) - share).pow(2).mean([-1])).ToArray(), 1);
        }
        // Logits equal to a scaled one-hot of the best expert leave less KL than logits pointing at the worst.
        Tensor best = nn.functional.one_hot(errors.argmin(1), 4).to_type(ScalarType.Float32) * 10;
        Tensor worst = nn.functional.one_hot(errors.argmax(1), 4).to_type(ScalarType.Float32) * 10;
        float right = PriorApproximateRouterTrainer.PriorApproximationLoss(block, ffn, x, best).item<float>();
        float wrong = PriorApproximateRouterTrainer.PriorApproximationLoss(block, ffn, x, worst).item<float>();
        Assert.True(right < wrong, $"{right} !< {wrong}");
    }

    [Fact]
    public void PriorLabelIgnoresWhatTheSharedExpertAlreadyComputes()
    {
        using var scope = NewDisposeScope();
        using LlamaModel dense = TinyModel.Dense(seed: 6);
        var ffn = (DenseFeedForward)dense.Layers[0].FeedForward;
        NeuronPartition split = ContiguousPartitioner.Split(64, 4);
        var partition = new NeuronPartition(split.Experts.Skip(1).ToArray(), split.Experts.Take(1).ToArray());
        using MixtureOfExpertsFeedForward block = ExpertSlicer.Build(ffn, partition, zeros(3, 32), 1, ExpertOutputRule.FixedScale);
        Tensor x = randn(20, 32);
        Tensor errors;
        using (no_grad())
        {
            // The routed experts' share is the dense output minus the shared expert's, over N/k.
            Tensor share = (ffn.forward(x) - block.SharedExperts[0].forward(x)) / block.FixedScale;
            errors = stack(block.Experts.Select(e => (e.forward(x) - share).pow(2).mean([-1])).ToArray(), 1);
        }
        // The loss equals the KL to the label built from that share, for any router logits.
        Tensor logits = randn(20, 3);
        Tensor label = zeros_like(errors).scatter_(1, errors.argmin(1, keepdim: true), ones(20, 1)).softmax(-1);
        float expected = (nn.functional.kl_div(logits.log_softmax(-1), label, reduction: nn.Reduction.Sum) / 20).item<float>();
        float actual = PriorApproximateRouterTrainer.PriorApproximationLoss(block, ffn, x, logits).item<float>();
        Assert.Equal(expected, actual, 4);
    }
}
