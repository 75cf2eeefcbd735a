using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Keys and values of every layer for one sequence (batch 1), laid out [positions, kvHeads, headDim] per
/// layer, so that the torch prefill path and the single-token decode kernels share the same memory.
/// Storage grows (doubling) with the positions actually used, up to <see cref="Capacity"/>: a model whose
/// config allows millions of positions costs only what its sequences fill.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private const int InitialPositions = 256;

    private readonly ModelConfig _config;
    private readonly Device? _device;
    private readonly ScalarType _dtype;
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    /// <param name="config">Shape of the model.</param>
    /// <param name="capacity">Positions to hold at most; the model's context by default.</param>
    /// <param name="device">Where the model's weights are (the CPU by default).</param>
    /// <param name="dtype">The type of the model's activations.</param>
    public KvCache(ModelConfig config, int? capacity = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        _config = config;
        _device = device;
        _dtype = dtype;
        Capacity = capacity ?? config.MaxPositions;
        if (Capacity <= 0 || Capacity > config.MaxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), $"KV cache capacity must be in 1..{config.MaxPositions}.");
        }
        _keys = new Tensor[config.NumLayers];
        _values = new Tensor[config.NumLayers];
        Allocate(Math.Min(Capacity, InitialPositions));
    }

    /// <summary>Positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>Positions the current storage holds; <see cref="Reserve"/> grows it.</summary>
    public int Allocated { get; private set; }

    /// <summary>Positions filled so far; the next token goes at this position.</summary>
    public int Length { get; set; }

    /// <summary>Current storage of a layer's keys [<see cref="Allocated"/>, kvHeads, headDim]; it moves when the cache grows.</summary>
    public Tensor Keys(int layer) => _keys[layer];

    /// <summary>Current storage of a layer's values.</summary>
    public Tensor Values(int layer) => _values[layer];

    /// <summary>Makes room for positions [0, <paramref name="positions"/>), keeping what is cached.</summary>
    public void Reserve(int positions)
    {
        if (positions <= Allocated)
        {
            return;
        }
        if (positions > Capacity)
        {
            throw new InvalidOperationException($"{positions} positions do not fit a KV cache of {Capacity}.");
        }
        Allocate((int)Math.Min(Capacity, Math.Max(positions, 2L * Allocated)));
    }

    private void Allocate(int positions)
    {
        for (int layer = 0; layer < _keys.Length; layer++)
        {
            _keys[layer] = Grown(_keys[layer], positions);
            _values[layer] = Grown(_values[layer], positions);
        }
        Allocated = positions;
    }

    private Tensor Grown(Tensor? old, int positions)
    {
        Tensor grown = zeros([positions, _config.NumKeyValueHeads, _config.HeadDim], dtype: _dtype, device: _device);
        if (old is not null)
        {
            using (old)
            using (Tensor kept = grown.narrow(0, 0, old.shape[0]))
            {
                kept.copy_(old);
            }
        }
        return grown;
    }

    public void Dispose()
    {
        foreach (Tensor t in _keys.Concat(_values))
        {
            t.Dispose();
        }
    }
}
