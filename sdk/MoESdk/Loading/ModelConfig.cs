namespace MoESdk.Loading;

/// <summary>
/// Shape and numerics of a LLaMA-family decoder (LLaMA, Mistral, Qwen2 and llama2.c checkpoints), in the
/// vocabulary of Hugging Face's <c>config.json</c>.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Architecture name as in <c>config.json</c> "architectures", e.g. LlamaForCausalLM.</summary>
    public required string Architecture { get; init; }

    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int NumLayers { get; init; }

    public required int NumHeads { get; init; }

    /// <summary>Key/value heads; fewer than <see cref="NumHeads"/> means grouped-query attention.</summary>
    public required int NumKeyValueHeads { get; init; }

    public required int VocabSize { get; init; }

    /// <summary>Longest sequence the model was trained for; the KV cache is sized by it.</summary>
    public required int MaxPositions { get; init; }

    public double RmsNormEpsilon { get; init; } = 1e-5;

    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Optional RoPE scaling (linear, dynamic, llama3); null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>The output head shares the token embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>q/k/v projections carry a bias (Qwen2).</summary>
    public bool AttentionBias { get; init; }

    public int? BosTokenId { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    private readonly int? _headDim;

    /// <summary>Width of one attention head: hidden size / heads unless config.json sets head_dim (Qwen3).</summary>
    public int HeadDim
    {
        get => _headDim ?? HiddenSize / NumHeads;
        init => _headDim = value;
    }

    /// <summary>Queries and keys are RMS-normalized per head before the rotary embedding (Qwen3).</summary>
    public bool QueryKeyNorm { get; init; }

    /// <summary>
    /// Mistral's sliding window: each query attends to the last <c>SlidingWindow</c> positions, its own included;
    /// null for attention over the whole prefix.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Every layer's feed-forward block is a Mixture of Experts (Mixtral, Qwen2-MoE); null for a dense model.</summary>
    internal MixtureConfig? Mixture { get; init; }

    /// <summary>Throws <see cref="ModelFormatException"/> when the numbers cannot describe a valid model.</summary>
    public void Validate(string source)
    {
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                throw new ModelFormatException(source, problem);
            }
        }

        Require(HiddenSize > 0 && IntermediateSize > 0 && NumLayers > 0 && NumHeads > 0 && VocabSize > 0 && MaxPositions > 0,
            "hidden size, intermediate size, layers, heads, vocabulary size and max positions must all be positive");
        Require(_headDim is not null || HiddenSize % NumHeads == 0, $"hidden size {HiddenSize} is not a multiple of the head count {NumHeads}");
        Require(HeadDim > 0, "head_dim must be positive");
        Require(HeadDim % 2 == 0, $"head width {HeadDim} must be even for rotary embeddings");
        Require(NumKeyValueHeads > 0 && NumHeads % NumKeyValueHeads == 0,
            $"head count {NumHeads} is not a multiple of the key/value head count {NumKeyValueHeads}");
        Require(RmsNormEpsilon > 0 && double.IsFinite(RmsNormEpsilon), "rms_norm_eps must be a positive number");
        Require(RopeTheta > 0 && double.IsFinite(RopeTheta), "rope_theta must be a positive number");
        if (RopeScaling is { } scaling)
        {
            Require(scaling.Factor > 0 && double.IsFinite(scaling.Factor), $"rope_scaling.factor is {scaling.Factor}; it must be a positive number (1 means no scaling)");
            Require(scaling.OriginalMaxPositions > 0, "rope_scaling.original_max_position_embeddings must be positive");
            Require(scaling.Type != "llama3" || (scaling.LowFrequencyFactor > 0 && scaling.HighFrequencyFactor > scaling.LowFrequencyFactor && double.IsFinite(scaling.HighFrequencyFactor)),
                "rope_scaling low_freq_factor and high_freq_factor must be positive numbers with high_freq_factor above low_freq_factor");
        }
        Require(SlidingWindow is null or > 0, $"sliding_window {SlidingWindow} must be positive (or null for none)");
        Mixture?.Validate(source);
    }
}

/// <summary>RoPE scaling as in <c>config.json</c> "rope_scaling".</summary>
/// <param name="Type">linear, dynamic or llama3.</param>
/// <param name="Factor">Scale factor of the context length.</param>
/// <param name="LowFrequencyFactor">llama3 only.</param>
/// <param name="HighFrequencyFactor">llama3 only.</param>
/// <param name="OriginalMaxPositions">llama3 and dynamic: the pretraining context length.</param>
public sealed record RopeScaling(string Type, double Factor, double LowFrequencyFactor = 1, double HighFrequencyFactor = 4, int OriginalMaxPositions = 8192);
