using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MoESdk.Artifacts;
using MoESdk.Evaluation;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tests.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Hostile;

/// <summary>Small models written to a temp folder and then damaged the way a careless or hostile user would.</summary>
internal static class HostileModels
{
    public static ModelConfig Config { get; } = Llama2cCheckpointTests.SmallConfig(tied: true) with { MaxPositions = 64 };

    /// <summary>A Hugging Face folder of <see cref="Config"/>; <paramref name="editConfig"/> edits config.json, <paramref name="editWeights"/> the tensors.</summary>
    public static string HuggingFace(TempFolder folder, Action<JsonObject>? editConfig = null, Action<Dictionary<string, Tensor>>? editWeights = null, int seed = 1)
    {
        using ModelWeights weights = WeightLayout.Random(Config, seed);
        var tensors = new Dictionary<string, Tensor>(weights.Tensors);
        editWeights?.Invoke(tensors);
        SafeTensorsWriter.Write(folder.File(SafeTensorsCheckpoint.SingleFileName), tensors);
        var config = JsonNode.Parse(HuggingFaceConfig.ToJson(Config))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(folder.File(HuggingFaceConfig.FileName), config.ToJsonString());
        return folder.Path;
    }

    /// <summary>A llama2.c checkpoint of <see cref="Config"/>.</summary>
    public static string Llama2c(TempFolder folder, Action<Dictionary<string, Tensor>>? editWeights = null)
    {
        using ModelWeights weights = WeightLayout.Random(Config, seed: 2);
        var tensors = new Dictionary<string, Tensor>(weights.Tensors);
        editWeights?.Invoke(tensors);
        string path = folder.File("model.bin");
        Llama2cCheckpoint.Write(path, Config, new ModelWeights("edited", tensors));
        return path;
    }

    /// <summary>A 4-expert top-2 artifact of <see cref="Config"/> at <paramref name="path"/>, random routers; <paramref name="editWeights"/> edits its weights before saving.</summary>
    public static MoEManifest Artifact(string path, Action<Dictionary<string, Tensor>>? editWeights = null)
    {
        using LlamaModel dense = BenchmarkShape.Dense(Config);
        using LlamaModel moe = BenchmarkShape.Mixture(dense, experts: 4, topK: 2);
        using (no_grad())
        {
            editWeights?.Invoke(moe.NamedWeights());
        }
        var manifest = new MoEManifest
        {
            Name = "hostile",
            Source = new SourceModel("random", "0"),
            Architecture = ArchitectureSummary.Of(Config),
            Method = new ConversionMethod("factor", "contiguous", "analytic", ExpertOutputRule.FixedScale, new Dictionary<string, string>()),
            Layers = moe.Layers.Select(l => LayerExperts.Of((MixtureOfExpertsFeedForward)l.FeedForward)).ToArray(),
        };
        return MoEArtifact.Save(path, moe, manifest, tokenizerSource: null);
    }

    /// <summary>Replaces moe.json of the artifact at <paramref name="path"/> by an edited copy.</summary>
    public static void EditManifest(string path, Action<JsonObject> edit)
    {
        string file = Path.Combine(path, MoEManifest.FileName);
        var manifest = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(manifest);
        File.WriteAllText(file, manifest.ToJsonString());
    }

    /// <summary>A safetensors file with the given header JSON and <paramref name="dataBytes"/> zero bytes of data.</summary>
    public static void RawSafetensors(string path, string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A tensor equal to <paramref name="source"/> with <paramref name="value"/> at flat index <paramref name="index"/>.</summary>
    public static Tensor With(Tensor source, long index, float value)
    {
        Tensor copy = source.clone();
        using (Tensor flat = copy.view(-1))
        {
            flat[index] = value;
        }
        return copy;
    }
}
