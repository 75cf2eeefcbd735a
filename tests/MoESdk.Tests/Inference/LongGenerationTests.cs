using System.Diagnostics;
using MoESdk.Inference;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Training;
using TorchSharp;

namespace MoESdk.Tests.Inference;

/// <summary>Runs alone (see <see cref="MemoryMeasurements"/>): the working set is the whole process's.</summary>
[Collection(MemoryMeasurements.Name)]
[Trait("Category", "Unit")]
public class LongGenerationTests
{
    private static readonly ModelConfig SmallConfig = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 160,
        NumLayers = 2,
        NumHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 300,
        MaxPositions = 2100,
        TieWordEmbeddings = true,
    };

    [Theory]
    [InlineData(DecodePrecision.Float32, false)]
    [InlineData(DecodePrecision.BFloat16, false)]
    [InlineData(DecodePrecision.Int8, false)]
    [InlineData(DecodePrecision.Int4, false)]
    [InlineData(DecodePrecision.BFloat16, true)]
    public void MemoryStaysFlatOver2000GeneratedTokens(DecodePrecision precision, bool weightsInBFloat16)
    {
        using ModelWeights weights = RandomInitialization.Create(SmallConfig, seed: 7);
        if (weightsInBFloat16)
        {
            weights.ConvertTo(torch.ScalarType.BFloat16);
        }
        using var model = new LlamaModel(SmallConfig, weights);
        using var session = new InferenceSession(model, precision: precision);
        Assert.Equal(DecodeBackend.Kernels, session.Backend);
        var options = new GenerationOptions { MaxTokens = 2000, Sampling = new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = 3 } };

        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long rssAfterWarmup = 0;
        int produced = 0;
        foreach (int _ in session.Generate([1], options))
        {
            produced++;
            if (produced == 200)
            {
                rssAfterWarmup = WorkingSet();
            }
        }
        long rssAtEnd = WorkingSet();

        Assert.Equal(2000, produced);
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // The KV cache grows with the positions used (all of it is 2 MB here) and the lower-precision copies are made before
        // the first token: 1,800 more tokens must not grow the process by more than noise.
        Assert.True(rssAtEnd - rssAfterWarmup < 32L << 20, $"working set grew by {(rssAtEnd - rssAfterWarmup) >> 20} MiB");
    }

    [Fact]
    public void SamplingIsDeterministicForASeed()
    {
        using ModelWeights weights = RandomInitialization.Create(SmallConfig, seed: 7);
        using var model = new LlamaModel(SmallConfig, weights);
        var options = new GenerationOptions { MaxTokens = 40, Sampling = new SamplingOptions { Temperature = 0.8f, TopK = 50, Seed = 11 } };
        int[] Run()
        {
            using var session = new InferenceSession(model);
            return session.Generate([1, 5, 9], options).ToArray();
        }
        Assert.Equal(Run(), Run());
        var other = options with { Sampling = options.Sampling with { Seed = 12 } };
        using var session = new InferenceSession(model);
        Assert.NotEqual(Run(), session.Generate([1, 5, 9], other).ToArray());
    }

    [Fact]
    public void StopsAtStopTokenMaxTokensAndCancellation()
    {
        using ModelWeights weights = RandomInitialization.Create(SmallConfig, seed: 7);
        using var model = new LlamaModel(SmallConfig, weights);
        using var session = new InferenceSession(model);
        int[] free = session.Generate([1], new GenerationOptions { MaxTokens = 10 }).ToArray();
        Assert.Equal(FinishReason.MaxTokens, session.FinishReason);
        session.Reset();
        int[] stopped = session.Generate([1], new GenerationOptions { MaxTokens = 10, StopTokens = [free[3]] }).ToArray();
        Assert.Equal(FinishReason.Stop, session.FinishReason);
        Assert.Equal(free.Take(free.ToList().IndexOf(free[3])), stopped);

        session.Reset();
        using var cancellation = new CancellationTokenSource();
        var produced = new List<int>();
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (int token in session.Generate([1], new GenerationOptions { MaxTokens = 100 }, cancellation.Token))
            {
                produced.Add(token);
                if (produced.Count == 5)
                {
                    cancellation.Cancel();
                }
            }
        });
        Assert.Equal(5, produced.Count);
    }

    private static long WorkingSet()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
