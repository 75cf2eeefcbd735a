using System.Buffers.Binary;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The legacy checkpoint format of Karpathy's llama2.c (<c>run.c</c>): seven int32 header fields (dim,
/// hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 tensors grouped by kind
/// across layers. A negative vocab_size means a separate classifier follows; otherwise the head is tied.
/// The query and key rows are in the interleaved rotary order and are converted to the Hugging Face order
/// on read and back on write (<see cref="RotaryRowOrder"/>).
/// </summary>
internal static class Llama2cCheckpoint
{
    private const int HeaderBytes = 7 * sizeof(int);

    // "ak42": the magic of llama2.c's later, versioned export formats, which are laid out differently.
    private const int VersionedMagic = 0x616b3432;

    // Fixed by run.c, so they are not in the file.
    private const double RmsNormEpsilon = 1e-5;
    private const double RopeTheta = 10000.0;

    /// <summary>Reads the checkpoint at <paramref name="path"/> into float32 weights in the <see cref="WeightNames"/> layout.</summary>
    /// <exception cref="ModelFormatException">Missing, of an invalid header, or not exactly the size its header implies.</exception>
    public static LoadedModel Read(string path, LoadOptions? options = null)
    {
        using MappedFile file = MappedFile.Open(path);
        ModelConfig config = ReadHeader(file);
        long expected = FileBytes(config) ?? throw new ModelFormatException(path,
            $"header (dim {config.HiddenSize}, hidden_dim {config.IntermediateSize}, n_layers {config.NumLayers}, vocab_size {config.VocabSize}, seq_len {config.MaxPositions}) " +
            $"implies more than {long.MaxValue} bytes: the file is corrupt or not a llama2.c legacy checkpoint");
        if (file.Length != expected)
        {
            string cause = file.Length < expected ? "the file is truncated" : "the file has trailing data or is not a llama2.c legacy checkpoint";
            throw new ModelFormatException(path,
                $"header (dim {config.HiddenSize}, hidden_dim {config.IntermediateSize}, n_layers {config.NumLayers}, n_heads {config.NumHeads}, " +
                $"n_kv_heads {config.NumKeyValueHeads}, vocab_size {(config.TieWordEmbeddings ? "" : "-")}{config.VocabSize}, seq_len {config.MaxPositions}) " +
                $"implies {expected} bytes, but the file has {file.Length}: {cause}");
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            ReadTensors(file, config, tensors);
            if (!(options ?? LoadOptions.Default).TrustWeights)
            {
                foreach ((string name, Tensor tensor) in tensors)
                {
                    FiniteWeights.Check(tensor, path, name);
                }
            }
        }
        catch
        {
            foreach (Tensor tensor in tensors.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
        return new LoadedModel(config, new ModelWeights(path, tensors));
    }

    /// <summary>
    /// Writes <paramref name="weights"/> (float32, <see cref="WeightNames"/> layout) as a legacy llama2.c
    /// checkpoint that <c>run.c</c> and <see cref="Read"/> load. The format cannot carry attention biases,
    /// RoPE scaling, or an epsilon or theta other than 1e-5 and 10000, so such configurations are refused.
    /// </summary>
    public static void Write(string path, ModelConfig config, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        if (config.AttentionBias || config.RopeScaling is not null || config.RmsNormEpsilon != RmsNormEpsilon || config.RopeTheta != RopeTheta)
        {
            throw new ArgumentException(
                "The llama2.c format has no attention biases or RoPE scaling, and fixes rms_norm_eps = 1e-5 and rope_theta = 10000.", nameof(config));
        }
        config.Validate(weights.Source);
        WeightLayout.Validate(weights, config);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> header = stackalloc byte[HeaderBytes];
            int[] fields =
            [
                config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKeyValueHeads,
                config.TieWordEmbeddings ? config.VocabSize : -config.VocabSize, config.MaxPositions,
            ];
            for (int i = 0; i < fields.Length; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(header[(i * sizeof(int))..], fields[i]);
            }
            stream.Write(header);

            void WriteLayers(Func<int, string> name, Func<Tensor, Tensor>? reorder = null)
            {
                for (int layer = 0; layer < config.NumLayers; layer++)
                {
                    Tensor weight = weights.Tensors[name(layer)];
                    if (reorder is null)
                    {
                        TensorBytes.Write(stream, weight);
                    }
                    else
                    {
                        using Tensor reordered = reorder(weight);
                        TensorBytes.Write(stream, reordered);
                    }
                }
            }

            TensorBytes.Write(stream, weights.Tensors[WeightNames.Embedding]);
            WriteLayers(WeightNames.AttentionNorm);
            WriteLayers(WeightNames.Query, weight => RotaryRowOrder.HalvesToInterleaved(weight, config.NumHeads));
            WriteLayers(WeightNames.Key, weight => RotaryRowOrder.HalvesToInterleaved(weight, config.NumKeyValueHeads));
            WriteLayers(WeightNames.Value);
            WriteLayers(WeightNames.Output);
            WriteLayers(WeightNames.FfnNorm);
            WriteLayers(WeightNames.Gate);
            WriteLayers(WeightNames.Down);
            WriteLayers(WeightNames.Up);
            TensorBytes.Write(stream, weights.Tensors[WeightNames.FinalNorm]);
            WriteRotaryTable(stream, config);
            if (!config.TieWordEmbeddings)
            {
                TensorBytes.Write(stream, weights.Tensors[WeightNames.Head]);
            }
        });
    }

    private static ModelConfig ReadHeader(MappedFile file)
    {
        if (file.Length < HeaderBytes)
        {
            throw new ModelFormatException(file.Path, $"file is {file.Length} bytes, shorter than the {HeaderBytes}-byte llama2.c header");
        }
        int Field(int index) => BinaryPrimitives.ReadInt32LittleEndian(file.Bytes(index * sizeof(int), sizeof(int)));

        if (Field(0) == VersionedMagic)
        {
            throw new ModelFormatException(file.Path,
                $"is a versioned llama2.c export (version {Field(1)}); only the legacy format is read: export it with `python export.py --version 0`");
        }
        (int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen) =
            (Field(0), Field(1), Field(2), Field(3), Field(4), Field(5), Field(6));
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab == 0 || vocab == int.MinValue || seqLen <= 0)
        {
            throw new ModelFormatException(file.Path,
                $"header [{dim}, {hidden}, {layers}, {heads}, {kvHeads}, {vocab}, {seqLen}] is not a llama2.c checkpoint header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)");
        }
        var config = new ModelConfig
        {
            Architecture = "LlamaForCausalLM",
            HiddenSize = dim,
            IntermediateSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            NumKeyValueHeads = kvHeads,
            VocabSize = Math.Abs(vocab),
            MaxPositions = seqLen,
            RmsNormEpsilon = RmsNormEpsilon,
            RopeTheta = RopeTheta,
            TieWordEmbeddings = vocab > 0,
            BosTokenId = 1,
            EosTokenIds = [2],
        };
        config.Validate(file.Path);
        return config;
    }

    /// <summary>The exact size of a checkpoint of <paramref name="config"/>, header included; null when it does not fit a long.</summary>
    private static long? FileBytes(ModelConfig config)
    {
        try
        {
            return FileBytesChecked(config);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static long FileBytesChecked(ModelConfig config)
    {
        checked
        {
            long dim = config.HiddenSize, hidden = config.IntermediateSize, layers = config.NumLayers, vocab = config.VocabSize;
            long kvDim = (long)config.NumKeyValueHeads * config.HeadDim;
            long perLayer = dim + dim * dim + 2 * kvDim * dim + dim * dim + dim + 3 * hidden * dim;
            long rotaryTable = config.MaxPositions * (long)config.HeadDim; // real and imaginary halves
            long floats = vocab * dim + layers * perLayer + dim + rotaryTable + (config.TieWordEmbeddings ? 0 : vocab * dim);
            return HeaderBytes + floats * sizeof(float);
        }
    }

    private static void ReadTensors(MappedFile file, ModelConfig config, Dictionary<string, Tensor> tensors)
    {
        long offset = HeaderBytes;
        long dim = config.HiddenSize, hidden = config.IntermediateSize;
        long kvDim = (long)config.NumKeyValueHeads * config.HeadDim;

        Tensor Next(params long[] shape)
        {
            Tensor tensor = file.ReadTensor(offset, shape, ScalarType.Float32);
            offset += tensor.numel() * sizeof(float);
            return tensor.DetachFromDisposeScope();
        }

        void Layers(Func<int, string> name, long[] shape, int? rotaryHeads = null)
        {
            for (int layer = 0; layer < config.NumLayers; layer++)
            {
                Tensor tensor = Next(shape);
                if (rotaryHeads is { } heads)
                {
                    using Tensor interleaved = tensor;
                    tensor = RotaryRowOrder.InterleavedToHalves(interleaved, heads).DetachFromDisposeScope();
                }
                tensors.Add(name(layer), tensor);
            }
        }

        tensors.Add(WeightNames.Embedding, Next(config.VocabSize, dim));
        Layers(WeightNames.AttentionNorm, [dim]);
        Layers(WeightNames.Query, [dim, dim], config.NumHeads);
        Layers(WeightNames.Key, [kvDim, dim], config.NumKeyValueHeads);
        Layers(WeightNames.Value, [kvDim, dim]);
        Layers(WeightNames.Output, [dim, dim]);
        Layers(WeightNames.FfnNorm, [dim]);
        Layers(WeightNames.Gate, [hidden, dim]);
        Layers(WeightNames.Down, [dim, hidden]);
        Layers(WeightNames.Up, [hidden, dim]);
        tensors.Add(WeightNames.FinalNorm, Next(dim));
        offset += config.MaxPositions * (long)config.HeadDim * sizeof(float); // freq_cis: run.c ignores it too
        if (!config.TieWordEmbeddings)
        {
            tensors.Add(WeightNames.Head, Next(config.VocabSize, dim));
        }
    }

    /// <summary>The cos and sin table llama2.c's exporter stores after the weights ([seq_len, head_dim/2] each).</summary>
    private static void WriteRotaryTable(Stream stream, ModelConfig config)
    {
        using var scope = NewDisposeScope();
        Tensor frequencies = pow(RopeTheta, arange(0, config.HeadDim, 2, ScalarType.Float32).div(config.HeadDim)).reciprocal();
        Tensor angles = outer(arange(config.MaxPositions, ScalarType.Float32), frequencies);
        TensorBytes.Write(stream, angles.cos());
        TensorBytes.Write(stream, angles.sin());
    }
}
