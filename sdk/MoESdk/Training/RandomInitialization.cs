using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>
/// Fresh weights for a model to be pretrained: normal(0, 0.02) matrices as in GPT-2/LLaMA, the output
/// projections of each residual branch scaled by 1/√(2·layers) so the residual stream does not grow with
/// depth, norms at one.
/// </summary>
internal static class RandomInitialization
{
    public static ModelWeights Create(ModelConfig config, int seed)
    {
        var generator = new Generator((ulong)seed);
        const double std = 0.02;
        double residualStd = std / Math.Sqrt(2.0 * config.NumLayers);
        long hidden = config.HiddenSize, inter = config.IntermediateSize;
        long q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        Tensor Normal(double s, params long[] shape) => normal(0, s, shape, generator: generator);

        var tensors = new Dictionary<string, Tensor>
        {
            [WeightNames.Embedding] = Normal(std, config.VocabSize, hidden),
            [WeightNames.FinalNorm] = ones(hidden),
        };
        if (!config.TieWordEmbeddings)
        {
            tensors[WeightNames.Head] = Normal(std, config.VocabSize, hidden);
        }
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            tensors[WeightNames.AttentionNorm(layer)] = ones(hidden);
            tensors[WeightNames.FfnNorm(layer)] = ones(hidden);
            tensors[WeightNames.Query(layer)] = Normal(std, q, hidden);
            tensors[WeightNames.Key(layer)] = Normal(std, kv, hidden);
            tensors[WeightNames.Value(layer)] = Normal(std, kv, hidden);
            tensors[WeightNames.Output(layer)] = Normal(residualStd, hidden, q);
            tensors[WeightNames.Gate(layer)] = Normal(std, inter, hidden);
            tensors[WeightNames.Up(layer)] = Normal(std, inter, hidden);
            tensors[WeightNames.Down(layer)] = Normal(residualStd, hidden, inter);
            if (config.AttentionBias)
            {
                tensors[WeightNames.QueryBias(layer)] = zeros(q);
                tensors[WeightNames.KeyBias(layer)] = zeros(kv);
                tensors[WeightNames.ValueBias(layer)] = zeros(kv);
            }
        }
        return new ModelWeights("(random initialization)", tensors);
    }
}
