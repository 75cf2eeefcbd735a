using System.Text.Json;
using MoESdk.Inference;
using MoESdk.Loading;
using MoESdk.Modules;

namespace MoESdk.Tests.Inference;

/// <summary>
/// The forward pass must reproduce the reference C implementation of the llama2.c format: the logits after
/// each prompt and the greedy continuation, for every case of every checkpoint in data/llama2c.
/// </summary>
[Trait("Category", "Unit")]
public class ReferenceVectorTests
{
    public static TheoryData<string> Checkpoints()
    {
        var data = new TheoryData<string>();
        foreach (string golden in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "data", "llama2c"), "*.golden.json"))
        {
            data.Add(Path.GetFileName(golden).Replace(".golden.json", ""));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void LogitsAndGreedyContinuationMatchTheReference(string name)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "data", "llama2c");
        using LoadedModel loaded = ModelLoader.Load(Path.Combine(folder, name + ".bin"));
        using var model = new LlamaModel(loaded.Config, loaded.Weights);
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, name + ".golden.json")));
        int cases = 0;
        foreach (JsonElement testCase in golden.RootElement.GetProperty("cases").EnumerateArray())
        {
            int[] prompt = testCase.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            float[] expectedLogits = testCase.GetProperty("logits_last").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            int[] expectedGreedy = testCase.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray();

            using var session = new InferenceSession(model);
            float[] logits = session.Feed(prompt).ToArray();
            Assert.Equal(expectedLogits.Length, logits.Length);
            for (int i = 0; i < logits.Length; i++)
            {
                double tolerance = 1e-4 * Math.Max(1.0, Math.Abs(expectedLogits[i]));
                Assert.True(Math.Abs(logits[i] - expectedLogits[i]) <= tolerance,
                    $"case {cases}, logit {i}: {logits[i]} vs reference {expectedLogits[i]}");
            }

            session.Reset();
            int[] greedy = session.Generate(prompt, new GenerationOptions { MaxTokens = expectedGreedy.Length }).ToArray();
            Assert.Equal(expectedGreedy, greedy);
            cases++;
        }
        Assert.True(cases > 0, "the golden file holds no cases");
    }
}
