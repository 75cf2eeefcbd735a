using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Tests.Conversion;

/// <summary>Small random dense models and patterned calibration text for conversion tests (seconds each).</summary>
internal static class TinyModel
{
    public static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 64,
        MaxPositions = 64,
        BosTokenId = 1,
        EosTokenIds = [2],
    };

    /// <summary>Options sized for the tiny model: 4 experts (3 + 1 shared for coact), 32-token windows, 512 calibration tokens.</summary>
    public static ConversionOptions Options(MoEMethod method) => new()
    {
        Method = method,
        Experts = method == MoEMethod.Coact ? 3 : 4,
        ExpertsPerToken = method == MoEMethod.ToMoE ? 1 : 2,
        WindowLength = 32,
        CalibrationTokens = 512,
    };

    /// <summary>
    /// A dense model with random weights (of <see cref="Config"/>'s shape unless <paramref name="config"/> is given); FFN
    /// weights larger than the default init so experts differ visibly.
    /// </summary>
    public static LlamaModel Dense(int seed, ModelConfig? config = null)
    {
        config ??= Config;
        using ModelWeights weights = WeightLayout.Random(config, seed);
        using (no_grad())
        {
            for (int layer = 0; layer < config.NumLayers; layer++)
            {
                foreach (string name in new[] { WeightNames.Gate(layer), WeightNames.Up(layer), WeightNames.Down(layer) })
                {
                    weights.Tensors[name].mul_(10f);
                }
            }
            weights.Tensors[WeightNames.Embedding].mul_(25f);
            // A sharper head: next-token distributions far from uniform, so conversion errors show in the KL.
            weights.Tensors[WeightNames.Head].mul_(50f);
        }
        return new LlamaModel(config, weights);
    }

    /// <summary>A learnable token stream: a few repeating phrases with a seeded choice of which comes next.</summary>
    public static int[] Text(int tokens, int seed)
    {
        int[][] phrases = [[5, 9, 13, 17, 21], [6, 10, 14, 30], [7, 11, 40, 41, 42, 43], [8, 12, 50, 60]];
        var random = new Random(seed);
        var text = new List<int>(tokens + 8);
        while (text.Count < tokens)
        {
            text.AddRange(phrases[random.Next(phrases.Length)]);
        }
        return [.. text.Take(tokens)];
    }

    /// <summary>Logits [1, tokens, vocab] of a fixed prompt.</summary>
    public static Tensor Logits(LlamaModel model)
    {
        using var inference = inference_mode();
        return model.forward(tensor(Text(40, 99).Select(t => (long)t).ToArray(), [1, 40]));
    }

    /// <summary>The manifest the command line writes, for a conversion of the tiny model.</summary>
    public static MoEManifest Manifest(LlamaModel dense, ConversionResult conversion) =>
        MoEManifest.ForConversion("tiny", new SourceModel("random", "0"), dense, conversion, "test");
}
