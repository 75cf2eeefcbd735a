using Microsoft.Extensions.AI;
using MoESdk.Modules;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

[Collection(ModelCollection.Name)]
[Trait("Category", "Unit")]
public sealed class RoutingPolicyServingTests(TestModels models)
{
    private const string Prompt = "In the beginning God created";

    // Layer 0: expert 0 off, expert 3 always on; layer 1: one expert per token, and only expert 0 left to choose.
    private static ExpertRoutingPolicy Policy() => new(new Dictionary<int, LayerRoutingPolicy>
    {
        [0] = new(disabled: [0], pinned: [3]),
        [1] = new(disabled: [1, 2, 3], topK: 1),
    });

    [Fact]
    public async Task ARequestWithAPolicyRoutesAsToldAndTheNextRequestIsUnaffected()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        var plain = new MoEGenerationOptions { MaxTokens = 8 };
        MoEGenerationResult before = await model.GenerateAsync(Prompt, plain);
        RoutingSnapshot beforeRouting = model.GetRoutingStatistics();

        MoEGenerationResult steered = await model.GenerateAsync(Prompt, plain with { RoutingPolicy = Policy() });
        RoutingSnapshot afterRouting = model.GetRoutingStatistics();
        MoEGenerationResult after = await model.GenerateAsync(Prompt, plain);

        Assert.NotEmpty(steered.Tokens);
        Assert.All(steered.Tokens, token =>
        {
            Assert.Equal(TestModels.TopK, token.Experts[0].Count);
            Assert.Contains(3, token.Experts[0]);
            Assert.DoesNotContain(0, token.Experts[0]);
            Assert.Equal([0], token.Experts[1]);
        });
        // The statistics of the steered request alone: every routed position, none to a disabled expert.
        long positions = steered.PromptTokens + steered.Tokens.Count;
        long[] layer0 = Delta(afterRouting, beforeRouting, 0), layer1 = Delta(afterRouting, beforeRouting, 1);
        Assert.Equal(0, layer0[0]);
        Assert.Equal(positions, layer0[3]);
        Assert.Equal(positions * TestModels.TopK, layer0.Sum());
        Assert.Equal([positions, 0, 0, 0], layer1);
        // The policy lasted one request: the next one routes exactly as the first.
        Assert.Equal(before.Text, after.Text);
        Assert.Equal(Experts(before), Experts(after));
        Assert.Contains(before.Tokens, t => t.Experts[1].Count == TestModels.TopK && t.Experts[1].Any(e => e != 0));
    }

    [Fact]
    public async Task AChatRequestCarriesAPolicyInItsAdditionalProperties()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        var options = new ChatOptions
        {
            MaxOutputTokens = 6,
            AdditionalProperties = new AdditionalPropertiesDictionary { [MoEModel.RoutingPolicyProperty] = Policy() },
        };

        await model.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt)], options);

        RoutingSnapshot routing = model.GetRoutingStatistics();
        Assert.True(routing.Tokens > 0);
        Assert.Equal(0, routing.Layers[0].Selections[0]);
        Assert.Equal(routing.Tokens, routing.Layers[0].Selections[3]);
        Assert.Equal([routing.Tokens, 0, 0, 0], routing.Layers[1].Selections);
        options.AdditionalProperties[MoEModel.RoutingPolicyProperty] = "disable expert 0";
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => model.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt)], options));
        Assert.Contains(nameof(ExpertRoutingPolicy), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APolicyThatDoesNotFitTheModelIsRejectedBeforeItRuns()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);

        string Rejection(int layer, LayerRoutingPolicy policy) => Assert.ThrowsAny<ArgumentException>(() => model.GenerateStreamingAsync(Prompt,
            new MoEGenerationOptions { RoutingPolicy = new ExpertRoutingPolicy(new Dictionary<int, LayerRoutingPolicy> { [layer] = policy }) })).Message;

        Assert.Contains("layers 0..1", Rejection(2, new LayerRoutingPolicy(disabled: [0])), StringComparison.Ordinal);
        Assert.Contains("experts 0..3", Rejection(0, new LayerRoutingPolicy(pinned: [4])), StringComparison.Ordinal);
        Assert.Contains("disables all 4 experts of layer 1", Rejection(1, new LayerRoutingPolicy(disabled: [0, 1, 2, 3])), StringComparison.Ordinal);
        Assert.Contains("pins 3 experts in layer 0", Rejection(0, new LayerRoutingPolicy(pinned: [0, 1, 2])), StringComparison.Ordinal);
        Assert.Equal(0, model.GetRoutingStatistics().Tokens);
    }

    [Fact]
    public async Task ConcurrentRequestsWithAndWithoutAPolicyEachMatchTheirRunAlone()
    {
        using MoEModel shared = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { MaxConcurrentRequests = 2 });
        var plain = new MoEGenerationOptions { MaxTokens = 10 };
        MoEGenerationOptions steered = plain with { RoutingPolicy = Policy() };
        MoEGenerationResult plainAlone = await shared.GenerateAsync(Prompt, plain);
        MoEGenerationResult steeredAlone = await shared.GenerateAsync(Prompt, steered);

        MoEGenerationResult[] together = await Task.WhenAll(
            shared.GenerateAsync(Prompt, steered), shared.GenerateAsync(Prompt, plain), shared.GenerateAsync(Prompt, steered), shared.GenerateAsync(Prompt, plain));

        foreach ((MoEGenerationResult alone, MoEGenerationResult concurrent) in new[] { (steeredAlone, together[0]), (plainAlone, together[1]), (steeredAlone, together[2]), (plainAlone, together[3]) })
        {
            Assert.Equal(alone.Text, concurrent.Text);
            Assert.Equal(Experts(alone), Experts(concurrent));
        }
        Assert.All(together[0].Tokens, t => Assert.Equal([0], t.Experts[1]));
        Assert.NotEqual(Experts(plainAlone), Experts(steeredAlone));
    }

    [Fact]
    public void ADenseModelRefusesAPolicy()
    {
        using MoEModel dense = MoEModel.Open(models.DensePath);
        var denseError = Assert.ThrowsAny<ArgumentException>(() => dense.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { RoutingPolicy = Policy() }));
        Assert.Contains("dense", denseError.Message, StringComparison.Ordinal);
    }

    private static long[] Delta(RoutingSnapshot after, RoutingSnapshot before, int layer) =>
        after.Layers[layer].Selections.Zip(before.Layers[layer].Selections, (a, b) => a - b).ToArray();

    private static int[] Experts(MoEGenerationResult result) => result.Tokens.SelectMany(t => t.Experts.SelectMany(l => l)).ToArray();
}
