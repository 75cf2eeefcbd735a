using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

/// <summary>
/// A plain, unoptimized LLaMA forward pass over Hugging Face-layout weights (rotate-half RoPE), written
/// from the transformers definition: the yardstick that proves loaded weights compute what the reference does.
/// </summary>
internal static class ReferenceForward
{
    /// <summary>Logits after the last of <paramref name="tokens"/>, all positions attended causally.</summary>
    public static float[] LastLogits(LoadedModel model, IReadOnlyList<int> tokens)
    {
        using var scope = NewDisposeScope();
        ModelConfig config = model.Config;
        IReadOnlyDictionary<string, Tensor> w = model.Weights.Tensors;
        int count = tokens.Count, heads = config.NumHeads, kvHeads = config.NumKeyValueHeads, headDim = config.HeadDim;

        Tensor Norm(Tensor x, string weight) =>
            x.mul(x.pow(2).mean([-1], keepdim: true).add(config.RmsNormEpsilon).rsqrt()).mul(w[weight]);

        Tensor frequencies = pow(config.RopeTheta, arange(0, headDim, 2, ScalarType.Float64).div(headDim)).reciprocal();
        Tensor angles = outer(arange(count, ScalarType.Float64), frequencies).to(ScalarType.Float32);
        Tensor cos = cat([angles.cos(), angles.cos()], -1).unsqueeze(1);
        Tensor sin = cat([angles.sin(), angles.sin()], -1).unsqueeze(1);
        Tensor Rotate(Tensor x)
        {
            Tensor[] halves = x.chunk(2, -1);
            return x.mul(cos).add(cat([halves[1].neg(), halves[0]], -1).mul(sin));
        }

        Tensor mask = ones(count, count).triu(1).to(ScalarType.Bool);
        Tensor h = w[WeightNames.Embedding].index_select(0, tensor(tokens.Select(t => (long)t).ToArray()));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            Tensor x = Norm(h, WeightNames.AttentionNorm(layer));
            Tensor q = Rotate(nn.functional.linear(x, w[WeightNames.Query(layer)]).view(count, heads, headDim));
            Tensor k = Rotate(nn.functional.linear(x, w[WeightNames.Key(layer)]).view(count, kvHeads, headDim));
            Tensor v = nn.functional.linear(x, w[WeightNames.Value(layer)]).view(count, kvHeads, headDim);
            k = k.repeat_interleave(heads / kvHeads, 1);
            v = v.repeat_interleave(heads / kvHeads, 1);
            Tensor scores = einsum("qhd,khd->hqk", q, k).div(Math.Sqrt(headDim)).masked_fill(mask, float.NegativeInfinity);
            Tensor attended = einsum("hqk,khd->qhd", scores.softmax(-1), v).reshape(count, heads * headDim);
            h = h.add(nn.functional.linear(attended, w[WeightNames.Output(layer)]));

            x = Norm(h, WeightNames.FfnNorm(layer));
            Tensor inner = nn.functional.silu(nn.functional.linear(x, w[WeightNames.Gate(layer)])).mul(nn.functional.linear(x, w[WeightNames.Up(layer)]));
            h = h.add(nn.functional.linear(inner, w[WeightNames.Down(layer)]));
        }
        Tensor head = config.TieWordEmbeddings ? w[WeightNames.Embedding] : w[WeightNames.Head];
        return nn.functional.linear(Norm(h, WeightNames.FinalNorm)[-1], head).data<float>().ToArray();
    }
}
