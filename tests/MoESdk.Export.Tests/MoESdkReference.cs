using MoESdk.Benchmarks.LlamaCpp;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Export.Tests;

/// <summary>The same measurements as <see cref="LlamaCppModel"/>, from MoESdk's own forward pass.</summary>
internal static class MoESdkReference
{
    public static float[] LastLogits(LlamaModel model, IReadOnlyList<int> tokens)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count]);
        return model.Forward(ids, 0, null, lastTokenOnly: true).flatten().data<float>().ToArray();
    }

    /// <summary>Logits at every position, [position][vocab].</summary>
    public static float[][] AllLogits(LlamaModel model, IReadOnlyList<int> tokens)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count]);
        Tensor logits = model.Forward(ids, 0, null, lastTokenOnly: false)[0];
        return Enumerable.Range(0, tokens.Count).Select(i => logits[i].data<float>().ToArray()).ToArray();
    }

    public static int[] Greedy(LlamaModel model, IReadOnlyList<int> prompt, int count)
    {
        var sequence = new List<int>(prompt);
        for (int i = 0; i < count; i++)
        {
            sequence.Add(LlamaCppSteps.ArgMax(LastLogits(model, sequence)));
        }
        return sequence.Skip(prompt.Count).ToArray();
    }
}
