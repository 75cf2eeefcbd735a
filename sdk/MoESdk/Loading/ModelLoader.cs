using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The one entry point that reads a dense model from disk, whatever its format:
/// <list type="bullet">
/// <item>a folder with <c>config.json</c> and <c>model.safetensors</c> or <c>model.safetensors.index.json</c>
/// (dense, or Mixtral / Qwen2-MoE, whose expert tensors are renamed to <see cref="MoEWeightNames"/>);</item>
/// <item>a <c>.safetensors</c> file or a <c>.safetensors.index.json</c> beside a <c>config.json</c>;</item>
/// <item>a llama2.c legacy <c>.bin</c> checkpoint.</item>
/// </list>
/// Every expected tensor is checked against the configuration's shapes before the model is returned.
/// </summary>
internal static class ModelLoader
{
    /// <summary>
    /// Loads the model at <paramref name="path"/> as CPU tensors of the options' precision (float32 by default) in the <see cref="WeightNames"/> layout.
    /// Unless <paramref name="options"/> trusts the weights, a NaN or infinite weight is refused.
    /// </summary>
    /// <exception cref="ModelFormatException">The path is missing, a file is corrupt or truncated, the architecture is
    /// unsupported, or a tensor is missing or of the wrong shape; the message names the file and the problem.</exception>
    public static LoadedModel Load(string path, LoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= LoadOptions.Default;
        if (options.MapWeights && options.Precision != Inference.DecodePrecision.BFloat16)
        {
            throw new ArgumentException(
                $"LoadOptions.MapWeights maps bfloat16 weights from their file and needs Precision = BFloat16 (was {options.Precision}); set it, or leave MapWeights off.",
                nameof(options));
        }
        if (Directory.Exists(path))
        {
            return LoadHuggingFace(HuggingFaceConfigBeside(path), FindWeights(path), options);
        }
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, "no such file or folder");
        }
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            return InPrecision(Llama2cCheckpoint.Read(path, options), options);
        }
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            return InPrecision(GgufCheckpoint.Read(path), options);
        }
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase))
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            return LoadHuggingFace(HuggingFaceConfigBeside(folder), path, options);
        }
        throw new ModelFormatException(path,
            "is not a model this SDK reads: pass a folder with config.json and model.safetensors, a .safetensors file beside a config.json, a llama2.c .bin checkpoint or a .gguf file");
    }

    // llama2.c and GGUF files are read as float32 (their types are not torch's); rounded or quantized a tensor at a time afterwards.
    private static LoadedModel InPrecision(LoadedModel model, LoadOptions options)
    {
        if (options.WeightType != ScalarType.Float32)
        {
            model.Weights.ConvertTo(options.WeightType);
        }
        if (HeldBlocks.IsBlockPrecision(options.Precision))
        {
            model.Weights.HoldInBlocks(options.Precision);
        }
        return model;
    }

    private static string HuggingFaceConfigBeside(string folder)
    {
        string config = Path.Combine(folder, HuggingFaceConfig.FileName);
        return File.Exists(config)
            ? config
            : throw new ModelFormatException(folder, $"has no {HuggingFaceConfig.FileName}; a Hugging Face model folder needs the config.json it was saved with");
    }

    private static string FindWeights(string folder)
    {
        foreach (string name in new[] { SafeTensorsCheckpoint.IndexFileName, SafeTensorsCheckpoint.SingleFileName })
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? "; pytorch_model.bin (pickle) is not read: save the model with safe_serialization=True"
            : "";
        throw new ModelFormatException(folder, $"has neither {SafeTensorsCheckpoint.SingleFileName} nor {SafeTensorsCheckpoint.IndexFileName}{hint}");
    }

    private static LoadedModel LoadHuggingFace(string configPath, string weightsPath, LoadOptions options)
    {
        ModelConfig config = HuggingFaceConfig.Read(configPath);
        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(weightsPath);
        WeightLayout.CheckLayerCount(checkpoint.Names, config, weightsPath);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var weights = new ModelWeights(weightsPath, tensors);
        try
        {
            // Only the tensors the configuration implies are read: a tied head stored anyway is not
            // duplicated, and buffers such as rotary_emb.inv_freq are left in the file.
            foreach ((string name, long[] _) in WeightLayout.Expected(config))
            {
                string stored = MoEWeightNames.InCheckpoint(config.Architecture, name);
                if (!checkpoint.Contains(stored))
                {
                    throw new ModelFormatException(weightsPath, MissingTensorProblem(stored, config));
                }
                tensors.Add(name, checkpoint.Read(stored, options));
            }
            WeightLayout.Validate(weights, config, options);
            return new LoadedModel(config, weights);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static string MissingTensorProblem(string name, ModelConfig config) => name switch
    {
        WeightNames.Head => $"tensor '{name}' is missing; if the output head shares the embedding, set \"tie_word_embeddings\": true in {HuggingFaceConfig.FileName}",
        _ when name.EndsWith(".bias", StringComparison.Ordinal) => $"tensor '{name}' is missing; {config.Architecture} has q/k/v biases",
        _ => $"tensor '{name}' is missing",
    };
}
