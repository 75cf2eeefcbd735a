using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>The losses a language model's logits [batch, length, vocabulary] train under.</summary>
internal static class LanguageModelLoss
{
    /// <summary>Mean cross-entropy of the next-token targets [batch, length].</summary>
    public static Tensor NextToken(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1));

    /// <summary>
    /// KL(teacher ‖ student) per token, summed over the vocabulary (the mean over tokens and vocabulary, times its
    /// size): the teacher's next-token distribution on the same inputs is the target instead of the text.
    /// </summary>
    public static Tensor Distillation(LlamaModel teacher, Tensor inputs, Tensor studentLogits)
    {
        Tensor target;
        using (no_grad())
        {
            target = teacher.forward(inputs).log_softmax(-1);
        }
        long vocab = studentLogits.shape[^1];
        return nn.functional.kl_div(studentLogits.log_softmax(-1).view(-1, vocab), target.view(-1, vocab),
            reduction: nn.Reduction.Mean, log_target: true) * vocab;
    }
}
