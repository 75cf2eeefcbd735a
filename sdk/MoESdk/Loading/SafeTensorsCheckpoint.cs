using System.Text.Json;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The safetensors weights of one model: a single <c>model.safetensors</c>, or shards listed by a
/// <c>model.safetensors.index.json</c> whose "weight_map" names the shard holding each tensor.
/// </summary>
internal sealed class SafeTensorsCheckpoint : IDisposable
{
    /// <summary>The file name Hugging Face gives the index of a sharded checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The file name Hugging Face gives an unsharded checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    private readonly Dictionary<string, SafeTensorsFile> _fileOf;
    private readonly List<SafeTensorsFile> _files;

    private SafeTensorsCheckpoint(string path, Dictionary<string, SafeTensorsFile> fileOf, List<SafeTensorsFile> files)
    {
        Path = path;
        _fileOf = fileOf;
        _files = files;
    }

    /// <summary>The <c>.safetensors</c> file or the index it was opened from.</summary>
    public string Path { get; }

    /// <summary>Names of every tensor in the checkpoint.</summary>
    public IEnumerable<string> Names => _fileOf.Keys;

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    /// <summary>Opens a single <c>.safetensors</c> file, or the shards of an <c>*.index.json</c>.</summary>
    /// <exception cref="ModelFormatException">A file is missing or invalid, or the index names a tensor its shard lacks.</exception>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            SafeTensorsFile file = SafeTensorsFile.Open(path);
            return new SafeTensorsCheckpoint(path, file.Entries.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal), [file]);
        }

        Dictionary<string, string> weightMap = ReadWeightMap(path);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var files = new List<SafeTensorsFile>();
        try
        {
            var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach ((string tensor, string shardName) in weightMap)
            {
                if (!shards.TryGetValue(shardName, out SafeTensorsFile? shard))
                {
                    string shardPath = System.IO.Path.Combine(folder, shardName);
                    if (!File.Exists(shardPath))
                    {
                        throw new ModelFormatException(path, $"shard '{shardName}' named in weight_map does not exist beside the index");
                    }
                    shard = SafeTensorsFile.Open(shardPath);
                    files.Add(shard);
                    shards.Add(shardName, shard);
                }
                if (!shard.Contains(tensor))
                {
                    throw new ModelFormatException(shard.Path, $"tensor '{tensor}' is missing, though {IndexFileName} places it in this shard");
                }
                fileOf.Add(tensor, shard);
            }
            return new SafeTensorsCheckpoint(path, fileOf, files);
        }
        catch
        {
            files.ForEach(file => file.Dispose());
            throw;
        }
    }

    /// <summary>The tensor <paramref name="name"/> as a new float32 CPU tensor.</summary>
    public Tensor Read(string name) => ShardOf(name).Read(name);

    /// <summary>
    /// The tensor <paramref name="name"/> in <paramref name="options"/>' precision, checked for NaN and infinities unless
    /// the options trust the weights. A matrix held in int8 is quantized here, so only one float32 matrix is alive at a time.
    /// </summary>
    public Tensor Read(string name, LoadOptions options)
    {
        Tensor tensor = ShardOf(name).Read(name, options.WeightType, options.MapWeights).DetachFromDisposeScope();
        try
        {
            if (!options.TrustWeights)
            {
                FiniteWeights.Check(tensor, FileOf(name), name);
            }
            if (!options.HoldsInBlocks(name, tensor.shape))
            {
                return tensor;
            }
            using (tensor)
            {
                return HeldBlocks.Quantize(tensor, options.Precision);
            }
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>The tensor <paramref name="name"/> as a new CPU tensor in its stored dtype.</summary>
    public Tensor ReadAsStored(string name) => ShardOf(name).ReadAsStored(name);

    /// <summary>The path of the file (the shard, when sharded) that holds <paramref name="name"/>: what an error about that tensor names.</summary>
    public string FileOf(string name) => ShardOf(name).Path;

    private SafeTensorsFile ShardOf(string name) =>
        _fileOf.TryGetValue(name, out SafeTensorsFile? file) ? file : throw new ModelFormatException(Path, $"tensor '{name}' is missing");

    private static Dictionary<string, string> ReadWeightMap(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, "file not found");
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out JsonElement map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(path, "has no \"weight_map\" object mapping tensor names to shard files");
            }
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in map.EnumerateObject())
            {
                string? shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                // Shards live beside the index: a path that leads elsewhere is corrupt or hostile.
                if (string.IsNullOrEmpty(shard) || System.IO.Path.GetFileName(shard) != shard)
                {
                    throw new ModelFormatException(path, $"weight_map entry '{entry.Name}' must name a shard file in the same folder, found {entry.Value.GetRawText()}");
                }
                weightMap[entry.Name] = shard;
            }
            return weightMap;
        }
        catch (JsonException exception)
        {
            throw new ModelFormatException(path, $"is not valid JSON ({exception.Message})", exception);
        }
    }

    public void Dispose() => _files.ForEach(file => file.Dispose());
}
