using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

/// <summary>
/// Continuous batching on real models (the tiny dense model and its MoE conversion): concurrent requests decode in
/// shared steps, and each one's tokens equal those it gets alone (greedy and seeded sampling, float32 and int8); one
/// cancelled request leaves the others as they were; memory stays flat over waves.
/// </summary>
[Collection(ModelCollection.Name)]
[Trait("Category", "Unit")]
public sealed class BatchedServingTests(TestModels models)
{
    private static readonly string[] Prompts =
        ["In the beginning God created", "And the earth was without form", "Let there be light", "And God saw", "The waters", "And the evening"];

    // Different lengths, so sequences leave the batch at different steps; every other one sampled with its own seed.
    private static MoEGenerationOptions Request(int i) => new()
    {
        MaxTokens = 6 + (3 * i),
        Sampling = i % 2 == 0 ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 0.9f, TopK = 40, Seed = 100 + i },
        IncludeExperts = true,
    };

    private static MoEServingOptions Batched(DecodePrecision precision) =>
        new() { MaxConcurrentRequests = Prompts.Length, MaxBatchSize = 4, QueueCapacity = 4, Precision = precision };

    private string Path(bool mixture) => mixture ? models.ArtifactPath : models.DensePath;

    private async Task<MoEGenerationResult[]> AloneAsync(bool mixture, DecodePrecision precision)
    {
        using MoEModel alone = MoEModel.Open(Path(mixture), new MoEServingOptions { Precision = precision });
        var results = new MoEGenerationResult[Prompts.Length];
        for (int i = 0; i < Prompts.Length; i++)
        {
            results[i] = await alone.GenerateAsync(Prompts[i], Request(i));
        }
        return results;
    }

    private static void AssertSame(MoEGenerationResult alone, MoEGenerationResult together, int i)
    {
        Assert.True(alone.Tokens.Select(t => t.Id).SequenceEqual(together.Tokens.Select(t => t.Id)),
            $"request {i}: [{string.Join(", ", together.Tokens.Select(t => t.Id))}] batched, [{string.Join(", ", alone.Tokens.Select(t => t.Id))}] alone");
        Assert.Equal(alone.Text, together.Text);
        Assert.Equal(alone.FinishReason, together.FinishReason);
        Assert.Equal(alone.Tokens.SelectMany(t => t.Experts.SelectMany(l => l)), together.Tokens.SelectMany(t => t.Experts.SelectMany(l => l)));
    }

    [Theory]
    [InlineData(true, DecodePrecision.Float32)]
    [InlineData(true, DecodePrecision.Int8)]
    [InlineData(false, DecodePrecision.Float32)]
    [InlineData(false, DecodePrecision.BFloat16)]
    [InlineData(false, DecodePrecision.Int4)]
    public async Task ConcurrentRequestsDecodeTogetherAndEachEqualsItsRunAlone(bool mixture, DecodePrecision precision)
    {
        MoEGenerationResult[] alone = await AloneAsync(mixture, precision);
        using MoEModel model = MoEModel.Open(Path(mixture), Batched(precision));

        MoEGenerationResult[] together = await Task.WhenAll(Prompts.Select((p, i) => model.GenerateAsync(p, Request(i))));

        for (int i = 0; i < Prompts.Length; i++)
        {
            AssertSame(alone[i], together[i], i);
        }
        Assert.InRange(model.LargestDecodeStep, 2, 4);
    }

    [Fact]
    public async Task CancellingOneRequestLeavesTheOthersAsTheyWere()
    {
        MoEGenerationResult[] alone = await AloneAsync(mixture: true, DecodePrecision.Float32);
        using MoEModel model = MoEModel.Open(models.ArtifactPath, Batched(DecodePrecision.Float32));
        using var cancel = new CancellationTokenSource();

        Task<MoEGenerationResult>[] others = [.. Enumerable.Range(1, Prompts.Length - 1).Select(i => model.GenerateAsync(Prompts[i], Request(i)))];
        int read = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (GeneratedToken _ in model.GenerateStreamingAsync(Prompts[0], Request(0) with { MaxTokens = 200 }, cancel.Token))
            {
                if (++read == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        MoEGenerationResult[] together = await Task.WhenAll(others);

        Assert.Equal(3, read);
        for (int i = 1; i < Prompts.Length; i++)
        {
            AssertSame(alone[i], together[i - 1], i);
        }
    }

    [Fact]
    public async Task MemoryStaysFlatOverWavesOfBatchedRequests()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, Batched(DecodePrecision.Float32));
        async Task WaveAsync() => await Task.WhenAll(Prompts.Select((p, i) => model.GenerateAsync(p, Request(i))));
        await WaveAsync();
        await WaveAsync();
        long before = GC.GetTotalMemory(forceFullCollection: true);

        for (int wave = 0; wave < 8; wave++)
        {
            await WaveAsync();
        }

        long growth = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.True(growth < 4 << 20, $"The managed heap grew by {growth >> 10} KiB over 8 waves.");
    }
}
