namespace MoESdk.Inference;

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>Still running, or not started.</summary>
    None,

    /// <summary>A stop token was sampled.</summary>
    Stop,

    /// <summary>The max-tokens limit was reached.</summary>
    MaxTokens,

    /// <summary>The model's context (KV cache) is full.</summary>
    ContextFull,
}
