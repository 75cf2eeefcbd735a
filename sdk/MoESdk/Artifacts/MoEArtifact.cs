using System.Text.Json;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tokenization;
using static TorchSharp.torch;

namespace MoESdk.Artifacts;

/// <summary>
/// Writes and reads a Mixture-of-Experts artifact: a folder <c>name.moe/</c> holding <c>moe.json</c>,
/// <c>config.json</c>, <c>model.safetensors</c> (router and expert tensors in the Mixtral / Qwen2-MoE layout)
/// and the tokenizer files. Writing goes to a temporary folder renamed at the end, so an interrupted
/// conversion never leaves a half-written artifact (see <see cref="ArtifactDestination"/>).
/// </summary>
public static class MoEArtifact
{
    private static readonly string[] TokenizerFileNames =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "tokenizer.bin"];

    /// <summary>True when <paramref name="path"/> is an artifact folder (it has a moe.json).</summary>
    public static bool IsArtifact(string path) => File.Exists(Path.Combine(path, MoEManifest.FileName));

    /// <summary>Writes <paramref name="model"/> and <paramref name="manifest"/> as the artifact <paramref name="path"/>, replacing any old one.</summary>
    /// <param name="path">Artifact folder to create.</param>
    /// <param name="model">The converted model.</param>
    /// <param name="manifest">Its manifest; the tokenizer file list is filled in here.</param>
    /// <param name="tokenizerSource">Folder (or checkpoint file) whose tokenizer files are copied along.</param>
    /// <param name="storeAs">Weight type in the file (default float32).</param>
    public static MoEManifest Save(string path, LlamaModel model, MoEManifest manifest, string? tokenizerSource, ScalarType storeAs = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(manifest);
        var destination = new ArtifactDestination(path);
        destination.Check();
        string temp = destination.BeginWrite();
        try
        {
            var tokenizerFiles = new List<string>();
            if (tokenizerSource is not null && GgufCheckpoint.IsGguf(tokenizerSource))
            {
                tokenizerFiles.AddRange(GgufCheckpoint.WriteTokenizerFiles(tokenizerSource, temp));
                tokenizerSource = null;
            }
            string? tokenizerFolder = tokenizerSource is null ? null : Directory.Exists(tokenizerSource) ? tokenizerSource : Path.GetDirectoryName(Path.GetFullPath(tokenizerSource));
            foreach (string name in TokenizerFileNames)
            {
                string candidate = tokenizerFolder is null ? "" : Path.Combine(tokenizerFolder, name);
                if (tokenizerFolder is not null && File.Exists(candidate))
                {
                    File.Copy(candidate, Path.Combine(temp, name));
                    tokenizerFiles.Add(name);
                }
            }
            manifest = manifest with { TokenizerFiles = tokenizerFiles };
            HuggingFaceConfig.Write(Path.Combine(temp, HuggingFaceConfig.FileName), model.Config);
            SafeTensorsWriter.Write(Path.Combine(temp, manifest.Weights), model.NamedWeights(),
                new Dictionary<string, string> { ["format"] = "pt", ["moe_schema"] = manifest.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) }, storeAs);
            File.WriteAllText(Path.Combine(temp, MoEManifest.FileName), JsonSerializer.Serialize(manifest, MoEManifest.JsonOptions));
            destination.CommitWrite(temp);
            return manifest;
        }
        catch
        {
            ArtifactDestination.AbandonWrite(temp);
            throw;
        }
    }

    /// <summary>Reads and validates the manifest alone (cheap: no weights).</summary>
    /// <exception cref="ModelFormatException">Missing, malformed, of another schema, or a field is absent, invalid or points outside the artifact.</exception>
    public static MoEManifest ReadManifest(string path)
    {
        string file = Path.Combine(path, MoEManifest.FileName);
        if (!File.Exists(file))
        {
            throw new ModelFormatException(path, $"is not a MoE artifact: it has no {MoEManifest.FileName}");
        }
        MoEManifest? manifest;
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
            int version = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("schemaVersion", out JsonElement v)
                && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int parsed) ? parsed : 0;
            if (version != MoEManifest.CurrentSchemaVersion)
            {
                throw new ModelFormatException(file, $"schema version {version} is not supported (this SDK reads version {MoEManifest.CurrentSchemaVersion}); convert the model again with this SDK's moe convert");
            }
            manifest = document.Deserialize<MoEManifest>(MoEManifest.JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException(file, $"is not valid manifest JSON: {ex.Message}", ex);
        }
        ManifestCheck.Validate(manifest, file, Path.GetFullPath(path));
        return manifest!;
    }

    /// <summary>
    /// Opens the artifact as a runnable model, checking every tensor against the manifest and, unless
    /// <paramref name="options"/> trusts the weights, refusing NaN and infinite weights.
    /// </summary>
    public static LanguageModel Open(string path, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        MoEManifest manifest = ReadManifest(path);
        string configPath = Path.Combine(path, HuggingFaceConfig.FileName);
        if (!File.Exists(configPath))
        {
            throw new ModelFormatException(path, $"artifact has no {HuggingFaceConfig.FileName}");
        }
        ModelConfig config = HuggingFaceConfig.Read(configPath);
        if (config.HiddenSize != manifest.Architecture.HiddenSize || config.NumLayers != manifest.Architecture.Layers || config.VocabSize != manifest.Architecture.VocabSize)
        {
            throw new ModelFormatException(configPath, "does not match the architecture in moe.json (hidden size, layers or vocabulary differ)");
        }
        string weightsPath = Path.Combine(path, manifest.Weights);
        if (!File.Exists(weightsPath))
        {
            throw new ModelFormatException(path, $"artifact weights '{manifest.Weights}' are missing");
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var weights = new ModelWeights(weightsPath, tensors);
        try
        {
            using (SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(weightsPath))
            {
                WeightLayout.CheckLayerCount(checkpoint.Names, config, weightsPath);
                foreach ((string name, long[] shape) in ExpectedTensors(config, manifest))
                {
                    if (!checkpoint.Contains(name))
                    {
                        throw new ModelFormatException(weightsPath, $"tensor '{name}' is missing (moe.json expects it); the artifact is incomplete: convert it again");
                    }
                    tensors.Add(name, checkpoint.Read(name, options));
                    weights.Get(name, shape);
                }
            }
            var model = new LlamaModel(config, weights, layer => BuildLayer(weights, config, manifest, layer));
            ITextTokenizer? tokenizer = TokenizerLoader.TryLoad(path);
            return new LanguageModel(model, tokenizer, path, manifest);
        }
        finally
        {
            weights.Dispose();
        }
    }

    private static MixtureOfExpertsFeedForward BuildLayer(ModelWeights weights, ModelConfig config, MoEManifest manifest, int layer)
    {
        LayerExperts l = manifest.Layers[layer];
        long hidden = config.HiddenSize;
        Expert Load(string gate, string up, string down, long width) =>
            new(weights.Get(gate, width, hidden), weights.Get(up, width, hidden), weights.Get(down, hidden, width));
        var experts = Enumerable.Range(0, l.Experts).Select(e => Load(MoEWeightNames.ExpertGate(layer, e), MoEWeightNames.ExpertUp(layer, e), MoEWeightNames.ExpertDown(layer, e), l.ExpertWidth)).ToArray();
        var shared = Enumerable.Range(0, l.SharedExperts).Select(s => Load(MoEWeightNames.SharedGate(layer, s), MoEWeightNames.SharedUp(layer, s), MoEWeightNames.SharedDown(layer, s), l.SharedWidth)).ToArray();
        return new MixtureOfExpertsFeedForward(experts, shared, weights.Get(MoEWeightNames.Router(layer), l.Experts, hidden), l.TopK, manifest.Method.OutputRule);
    }

    private static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config, MoEManifest manifest)
    {
        var denseFeedForward = new HashSet<string>(Enumerable.Range(0, config.NumLayers)
            .SelectMany(i => new[] { WeightNames.Gate(i), WeightNames.Up(i), WeightNames.Down(i) }));
        foreach ((string name, long[] shape) in WeightLayout.Expected(config))
        {
            if (!denseFeedForward.Contains(name))
            {
                yield return (name, shape);
            }
        }
        long hidden = config.HiddenSize;
        for (int layer = 0; layer < manifest.Layers.Count; layer++)
        {
            LayerExperts l = manifest.Layers[layer];
            yield return (MoEWeightNames.Router(layer), [l.Experts, hidden]);
            for (int e = 0; e < l.Experts; e++)
            {
                yield return (MoEWeightNames.ExpertGate(layer, e), [l.ExpertWidth, hidden]);
                yield return (MoEWeightNames.ExpertUp(layer, e), [l.ExpertWidth, hidden]);
                yield return (MoEWeightNames.ExpertDown(layer, e), [hidden, l.ExpertWidth]);
            }
            for (int s = 0; s < l.SharedExperts; s++)
            {
                yield return (MoEWeightNames.SharedGate(layer, s), [l.SharedWidth, hidden]);
                yield return (MoEWeightNames.SharedUp(layer, s), [l.SharedWidth, hidden]);
                yield return (MoEWeightNames.SharedDown(layer, s), [hidden, l.SharedWidth]);
            }
        }
    }
}
