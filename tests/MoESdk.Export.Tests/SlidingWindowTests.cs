using MoESdk.Export;
using MoESdk.Loading;
using Xunit.Abstractions;

namespace MoESdk.Export.Tests;

/// <summary>
/// Mistral's sliding window, on prompts longer than a small window. llama.cpp cannot check it (its <c>llama</c>
/// architecture, which Mistral exports to, applies no window), so the reference is built here: with one layer the
/// last position sees exactly the last W tokens, and rotary embeddings depend only on relative positions, so its
/// logits must equal those of the same weights without a window run on just those W tokens. The kernel decoder must
/// agree with the forward pass past the window, and with a window longer than the prompt llama.cpp must agree too.
/// </summary>
public sealed class SlidingWindowTests(ITestOutputHelper output)
{
    private const int Window = 8;

    private static readonly ModelConfig Mistral = new()
    {
        Architecture = "MistralForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 160,
        NumLayers = 1,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 128,
        MaxPositions = 128,
        BosTokenId = 1,
        EosTokenIds = [2],
        SlidingWindow = Window,
    };

    private static readonly int[] Prompt = Enumerable.Range(0, 40).Select(i => 1 + (i * 53 + 7) % 120).ToArray();

    [Fact]
    public void LastPositionSeesExactlyTheWindow()
    {
        string folder = Directory.CreateTempSubdirectory("moe-swa-").FullName;
        try
        {
            using LanguageModel windowed = Open(folder, "windowed", Mistral);
            using LanguageModel full = Open(folder, "full", Mistral with { SlidingWindow = null });
            Assert.Equal(Window, windowed.Model.Config.SlidingWindow);
            float[] actual = MoESdkReference.LastLogits(windowed.Model, Prompt);
            float[] reference = MoESdkReference.LastLogits(full.Model, Prompt[^Window..]);
            float[] unwindowed = MoESdkReference.LastLogits(full.Model, Prompt);
            float diff = MaxDiff(actual, reference);
            output.WriteLine($"SWA | window {Window}, prompt {Prompt.Length} | max logit diff vs the last {Window} tokens alone {diff:G3}; vs no window {MaxDiff(actual, unwindowed):G3}");
            Assert.True(diff < 1e-4f, $"the windowed model's last logits differ by {diff} from the window's tokens alone");
            Assert.True(MaxDiff(actual, unwindowed) > 0.05f, "the window changed nothing: the test would not see a missing window");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void KernelDecodeAppliesTheWindowLikeTheForwardPass()
    {
        string folder = Directory.CreateTempSubdirectory("moe-swa-").FullName;
        try
        {
            using LanguageModel model = Open(folder, "two-layers", Mistral with { NumLayers = 2 });
            KernelDecode.AssertMatchesForward(model, Prompt);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void WindowLongerThanThePromptMatchesLlamaCpp()
    {
        string folder = Directory.CreateTempSubdirectory("moe-swa-").FullName;
        try
        {
            using LanguageModel model = Open(folder, "wide-window", Mistral with { NumLayers = 2, SlidingWindow = 96 });
            ExportParity.AssertParity(ExportParity.Measure(model, GgufTensorType.F32, Prompt, "mistral window 96 ≥ prompt", output));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static LanguageModel Open(string parent, string name, ModelConfig config)
    {
        string folder = Path.Combine(parent, name);
        Directory.CreateDirectory(folder);
        HuggingFaceExportParityTests.Write(folder, config, seed: 21);
        return LanguageModel.Open(folder);
    }

    private static float MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
