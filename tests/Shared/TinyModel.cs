using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MoESdk.Testing;

/// <summary>
/// Writes a small dense Hugging Face LLaMA folder with random weights: config.json, model.safetensors (float32,
/// N(0, 0.02²), norms at 1) and the byte-level BPE tokenizer of the repository's reference model (vocab.json,
/// merges.txt), plus data/calibration.txt. Small enough that a conversion takes seconds.
/// </summary>
internal static class TinyModel
{
    public const int Hidden = 64;
    public const int FeedForward = 128;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int Vocabulary = 2048;

    private static string ReferenceModel => Repository.ReferenceModel;

    public static void Write(string folder, int seed = 1)
    {
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = FeedForward,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = Heads,
            ["vocab_size"] = Vocabulary,
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-5,
            ["tie_word_embeddings"] = true,
            ["hidden_act"] = "silu",
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
        WriteWeights(Path.Combine(folder, "model.safetensors"), seed);
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(ReferenceModel, file), Path.Combine(folder, file));
        }
        File.Copy(Path.Combine(ReferenceModel, "data", "calibration.txt"), Path.Combine(folder, "data", "calibration.txt"));
    }

    private static IEnumerable<(string Name, int[] Shape)> Tensors()
    {
        yield return ("model.embed_tokens.weight", [Vocabulary, Hidden]);
        for (int layer = 0; layer < Layers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            yield return (prefix + "input_layernorm.weight", [Hidden]);
            yield return (prefix + "self_attn.q_proj.weight", [Hidden, Hidden]);
            yield return (prefix + "self_attn.k_proj.weight", [Hidden, Hidden]);
            yield return (prefix + "self_attn.v_proj.weight", [Hidden, Hidden]);
            yield return (prefix + "self_attn.o_proj.weight", [Hidden, Hidden]);
            yield return (prefix + "post_attention_layernorm.weight", [Hidden]);
            yield return (prefix + "mlp.gate_proj.weight", [FeedForward, Hidden]);
            yield return (prefix + "mlp.up_proj.weight", [FeedForward, Hidden]);
            yield return (prefix + "mlp.down_proj.weight", [Hidden, FeedForward]);
        }
        yield return ("model.norm.weight", [Hidden]);
    }

    /// <summary>The safetensors format: u64 header length, JSON header with dtype/shape/offsets, raw little-endian data.</summary>
    private static void WriteWeights(string path, int seed)
    {
        var random = new Random(seed);
        var header = new StringBuilder("{");
        var data = new MemoryStream();
        foreach ((string name, int[] shape) in Tensors())
        {
            int count = shape.Aggregate(1, (a, b) => a * b);
            long begin = data.Length;
            for (int i = 0; i < count; i++)
            {
                float value = shape.Length == 1 ? 1f : (float)(0.02 * Gaussian(random));
                data.Write(BitConverter.GetBytes(value));
            }
            if (header.Length > 1)
            {
                header.Append(',');
            }
            header.Append(CultureInfo.InvariantCulture,
                $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(',', shape)}],\"data_offsets\":[{begin},{data.Length}]}}");
        }
        header.Append('}');
        while (header.Length % 8 != 0)
        {
            header.Append(' ');
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using FileStream file = File.Create(path);
        file.Write(BitConverter.GetBytes((ulong)headerBytes.Length));
        file.Write(headerBytes);
        data.Position = 0;
        data.CopyTo(file);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
