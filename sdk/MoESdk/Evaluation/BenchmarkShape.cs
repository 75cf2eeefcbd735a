using MoESdk.Conversion;
using MoESdk.Loading;
using MoESdk.Modules;
using static TorchSharp.torch;

namespace MoESdk.Evaluation;

/// <summary>
/// Realistic model shapes with synthetic weights, for measuring speed without a checkpoint: the dense model
/// and its Mixture-of-Experts conversion (contiguous experts, a random router, so routing is spread over all
/// experts as in a trained model with balanced load).
/// </summary>
internal static class BenchmarkShape
{
    /// <summary>The shapes <see cref="Config"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } = ["110m", "1b"];

    /// <summary>110m: llama2.c's 110M (dim 768, FFN 2048, 12 layers, 12 heads); 1b: TinyLlama 1.1B (dim 2048, FFN 5632, 22 layers, GQA 32:4).</summary>
    public static ModelConfig Config(string name) => name switch
    {
        "110m" => new ModelConfig
        {
            Architecture = "LlamaForCausalLM", HiddenSize = 768, IntermediateSize = 2048, NumLayers = 12, NumHeads = 12,
            NumKeyValueHeads = 12, VocabSize = 32000, MaxPositions = 1024,
        },
        "1b" => new ModelConfig
        {
            Architecture = "LlamaForCausalLM", HiddenSize = 2048, IntermediateSize = 5632, NumLayers = 22, NumHeads = 32,
            NumKeyValueHeads = 4, VocabSize = 32000, MaxPositions = 2048,
        },
        _ => throw new ArgumentException($"Unknown shape '{name}': use one of {string.Join(", ", Names)}."),
    };

    /// <summary>A dense model of the shape with N(0, 0.02²) weights, held in float32, rounded to bfloat16 or quantized to int8 (<paramref name="held"/>).</summary>
    public static LlamaModel Dense(ModelConfig config, long seed = 1, Inference.DecodePrecision held = Inference.DecodePrecision.Float32)
    {
        using ModelWeights weights = WeightLayout.Random(config, seed);
        if (held == Inference.DecodePrecision.BFloat16)
        {
            weights.ConvertTo(ScalarType.BFloat16);
        }
        else if (HeldBlocks.IsBlockPrecision(held))
        {
            weights.HoldInBlocks(held);
        }
        return new LlamaModel(config, weights);
    }

    /// <summary>
    /// The dense model's FFN cut into <paramref name="experts"/> contiguous experts, <paramref name="topK"/> run
    /// per token; shares everything else with <paramref name="dense"/>.
    /// </summary>
    public static LlamaModel Mixture(LlamaModel dense, int experts, int topK, long seed = 2)
    {
        var options = new ConversionOptions { Method = MoEMethod.Factor, Experts = experts, ExpertsPerToken = topK };
        options.Validate(dense.Config);
        using var generator = new Generator(unchecked((ulong)seed));
        NeuronPartition partition = ContiguousPartitioner.Split(dense.Config.IntermediateSize, experts);
        return new LlamaModel(dense, layer => ExpertSlicer.Build((DenseFeedForward)dense.Layers[layer].FeedForward, partition,
            randn([experts, dense.Config.HiddenSize], generator: generator).to_type(dense.DType), topK, ExpertOutputRule.FixedScale));
    }
}
