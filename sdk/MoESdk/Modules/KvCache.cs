using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Keys and values of every layer for one sequence (batch 1), laid out [positions, kvHeads, headDim] per
/// layer, so that the torch prefill path and the single-token decode kernels share the same memory.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    public KvCache(ModelConfig config, int? capacity = null)
    {
        Capacity = capacity ?? config.MaxPositions;
        if (Capacity <= 0 || Capacity > config.MaxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), $"KV cache capacity must be in 1..{config.MaxPositions}.");
        }
        _keys = new Tensor[config.NumLayers];
        _values = new Tensor[config.NumLayers];
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            _keys[layer] = zeros(Capacity, config.NumKeyValueHeads, config.HeadDim);
            _values[layer] = zeros(Capacity, config.NumKeyValueHeads, config.HeadDim);
        }
    }

    /// <summary>Positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>Positions filled so far; the next token goes at this position.</summary>
    public int Length { get; set; }

    public Tensor Keys(int layer) => _keys[layer];

    public Tensor Values(int layer) => _values[layer];

    public void Dispose()
    {
        foreach (Tensor t in _keys.Concat(_values))
        {
            t.Dispose();
        }
    }
}
