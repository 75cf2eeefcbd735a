using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MoESdk.Artifacts;
using MoESdk.Loading;
using MoESdk.Tests.Loading;
using MoESdk.Tokenization;
using Xunit.Abstractions;

namespace MoESdk.Tests.Hostile;

/// <summary>
/// Mutated model files, thousands of cases per reader under a time budget with a fixed seed: every case is read
/// successfully or refused with a <see cref="ModelFormatException"/>; no other exception, and no case allocates
/// more than a bounded amount. MOESDK_FUZZ_SECONDS sets the budget per reader (default 10).
/// </summary>
[Trait("Category", "Fuzz")]
public class FuzzTests(ITestOutputHelper output)
{
    private const long AllocationBudget = 128L << 20;

    private static TimeSpan Budget =>
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("MOESDK_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out double seconds) ? seconds : 10);

    private void Fuzz(string target, Func<byte[]> next, Action<byte[]> read)
    {
        int cases = 0, accepted = 0;
        var timer = Stopwatch.StartNew();
        while (timer.Elapsed < Budget)
        {
            byte[] input = next();
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(input);
                accepted++;
            }
            catch (ModelFormatException)
            {
                // The expected way to refuse a damaged file.
            }
            catch (Exception ex)
            {
                Assert.Fail($"{target} case {cases}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}\ninput: {Convert.ToBase64String(input)}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < AllocationBudget, $"{target} case {cases} allocated {allocated >> 20} MB; input: {Convert.ToBase64String(input)}");
            cases++;
        }
        output.WriteLine($"{target}: {cases} cases in {timer.Elapsed.TotalSeconds:F1} s, {accepted} read, {cases - accepted} refused");
        Assert.True(cases > 50, $"{target}: only {cases} cases ran");
    }

    [Fact]
    public void SafetensorsHeaders()
    {
        using var folder = new TempFolder();
        using ModelWeights weights = WeightLayout.Random(HostileModels.Config, seed: 1);
        string original = folder.File("original.safetensors");
        SafeTensorsWriter.Write(original, weights.Tensors.Where(t => !t.Key.Contains("layers.1.", StringComparison.Ordinal)).ToDictionary(), new Dictionary<string, string> { ["format"] = "pt" });
        byte[] file = File.ReadAllBytes(original);
        int headerLength = (int)BinaryPrimitives.ReadInt64LittleEndian(file);
        byte[] header = file[8..(8 + headerLength)];
        byte[] data = file[(8 + headerLength)..];
        var mutator = new Mutator(1);
        string path = folder.File("fuzz.safetensors");

        Fuzz("safetensors header", () =>
        {
            byte[] mutated = mutator.Text(header);
            long prefix = mutator.Random.Next(8) == 0 ? (long)mutator.Integer() * (mutator.Random.Next(2) == 0 ? 1 : 1L << 32) : mutated.Length;
            var bytes = new byte[8 + mutated.Length + data.Length];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, prefix);
            mutated.CopyTo(bytes, 8);
            data.CopyTo(bytes, 8 + mutated.Length);
            return bytes;
        }, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            using SafeTensorsFile file = SafeTensorsFile.Open(path);
            foreach (string name in file.Entries.Keys)
            {
                try
                {
                    file.Read(name).Dispose();
                }
                catch (ModelFormatException) when (file.Entries[name].DType is not ("F32" or "F16" or "BF16"))
                {
                    // A dtype the header may name but the loader does not convert: refused by name.
                }
            }
        });
    }

    [Fact]
    public void Llama2cHeaders()
    {
        using var folder = new TempFolder();
        byte[] original = File.ReadAllBytes(HostileModels.Llama2c(folder));
        var mutator = new Mutator(2);
        string path = folder.File("fuzz.bin");

        Fuzz("llama2.c header", () =>
        {
            byte[] bytes = (byte[])original.Clone();
            for (int edits = 1 + mutator.Random.Next(3); edits > 0; edits--)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * mutator.Random.Next(7)), mutator.Integer());
            }
            return mutator.Random.Next(4) switch
            {
                0 => bytes[..mutator.Random.Next(1, bytes.Length)],
                1 => [.. bytes, .. new byte[mutator.Random.Next(1, 4096)]],
                _ => bytes,
            };
        }, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            using LoadedModel model = ModelLoader.Load(path);
        });
    }

    [Fact]
    public void ConfigJson()
    {
        using var folder = new TempFolder();
        HostileModels.HuggingFace(folder, config =>
        {
            config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 32 };
            config["eos_token_id"] = new JsonArray(2, 3);
        });
        byte[] original = File.ReadAllBytes(folder.File(HuggingFaceConfig.FileName));
        var mutator = new Mutator(3);

        Fuzz("config.json", () => mutator.Text(original), bytes =>
        {
            File.WriteAllBytes(folder.File(HuggingFaceConfig.FileName), bytes);
            using LanguageModel model = LanguageModel.Open(folder.Path);
        });
    }

    [Fact]
    public void MoEManifests()
    {
        using var folder = new TempFolder();
        string artifact = folder.File("fuzz.moe");
        HostileModels.Artifact(artifact);
        string manifest = Path.Combine(artifact, MoEManifest.FileName);
        byte[] original = File.ReadAllBytes(manifest);
        var mutator = new Mutator(4);
        int run = 0;

        Fuzz("moe.json", () => mutator.Text(original), bytes =>
        {
            File.WriteAllBytes(manifest, bytes);
            // Opening reads the weights too: every eighth case, the manifest alone otherwise.
            if (run++ % 8 == 0)
            {
                using LanguageModel model = LanguageModel.Open(artifact);
            }
            else
            {
                MoEArtifact.ReadManifest(artifact);
            }
        });
    }

    [Fact]
    public void TokenizerJson()
    {
        using var folder = new TempFolder();
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }
        string[] pieces = ["▁", "t", "h", "e", "a", "▁t", "he", "▁the", "▁a"];
        for (int i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = 259 + i;
        }
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true }, new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" }, new JsonObject { ["type"] = "Replace" }) },
            ["model"] = new JsonObject { ["type"] = "BPE", ["byte_fallback"] = true, ["unk_token"] = "<unk>", ["vocab"] = vocab, ["merges"] = new JsonArray("▁ t", "h e", "▁t he", "▁ a") },
        };
        byte[] original = Encoding.UTF8.GetBytes(json.ToJsonString());
        var mutator = new Mutator(5);

        Fuzz("tokenizer.json", () => mutator.Text(original), bytes =>
        {
            File.WriteAllBytes(folder.File("tokenizer.json"), bytes);
            if (TokenizerLoader.TryLoad(folder.Path) is { } tokenizer)
            {
                tokenizer.Decode(tokenizer.Encode("the a the\n😀", addBos: true));
            }
        });
    }
}
