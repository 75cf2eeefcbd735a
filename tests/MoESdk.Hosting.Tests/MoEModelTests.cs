using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using MoESdk.Evaluation;
using MoESdk.Inference;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

[Collection(ModelCollection.Name)]
[Trait("Category", "Unit")]
public sealed class MoEModelTests(TestModels models)
{
    private const string Prompt = "In the beginning God created";

    [Fact]
    public async Task StreamedTextEqualsTheWholeTextForGreedyDecoding()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        var options = new MoEGenerationOptions { MaxTokens = 24 };

        MoEGenerationResult whole = await model.GenerateAsync(Prompt, options);
        MoEGenerationStream stream = model.GenerateStreamingAsync(Prompt, options);
        var streamed = new List<GeneratedToken>();
        await foreach (GeneratedToken token in stream)
        {
            streamed.Add(token);
        }

        Assert.NotEmpty(whole.Tokens);
        Assert.Equal(whole.Tokens.Select(t => t.Id), streamed.Select(t => t.Id));
        Assert.Equal(whole.Text, string.Concat(streamed.Select(t => t.Text)));
        Assert.Equal(whole.FinishReason, stream.FinishReason);
        Assert.Equal(whole.PromptTokens, stream.PromptTokens);
        Assert.Contains(stream.FinishReason, new[] { FinishReason.MaxTokens, FinishReason.Stop });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ExpertsPerTokenOfARequestIsTheNumberOfExpertsThatRun(int k)
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);

        MoEGenerationResult budget = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 6, ExpertsPerToken = k });
        MoEGenerationResult standard = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 6 });

        Assert.Equal(k, budget.ExpertsPerToken);
        Assert.All(budget.Tokens, token =>
        {
            Assert.Equal(TestModels.Config.NumLayers, token.Experts.Count);
            Assert.All(token.Experts, layer =>
            {
                Assert.Equal(k, layer.Count);
                Assert.Equal(k, layer.Distinct().Count());
                Assert.All(layer, e => Assert.InRange(e, 0, TestModels.Experts - 1));
            });
        });
        // The override lasts one request: the next one runs the artifact's top-k again.
        Assert.All(standard.Tokens, token => Assert.All(token.Experts, layer => Assert.Equal(TestModels.TopK, layer.Count)));
        Assert.Equal(TestModels.TopK, model.Info.DefaultExpertsPerToken);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void ExpertsPerTokenOutsideTheArtifactsExpertsIsRejected(int k)
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);

        var e = Assert.ThrowsAny<ArgumentException>(() => model.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { ExpertsPerToken = k }));

        Assert.Contains($"1..{TestModels.Experts}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADenseModelHasNoExpertsAndRejectsABudget()
    {
        using MoEModel model = MoEModel.Open(models.DensePath);

        MoEGenerationResult result = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 4 });
        var e = Assert.ThrowsAny<ArgumentException>(() => model.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { ExpertsPerToken = 1 }));

        Assert.False(model.Info.IsMixtureOfExperts);
        Assert.Contains("dense", e.Message, StringComparison.Ordinal);
        Assert.All(result.Tokens, t => Assert.Empty(t.Experts));
        Assert.Empty(model.GetRoutingStatistics().Layers);
    }

    [Fact]
    public async Task RoutingStatisticsCountEveryRoutedPosition()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        Assert.Equal(0, model.GetRoutingStatistics().Tokens);

        MoEGenerationResult result = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 10 });
        RoutingSnapshot routing = model.GetRoutingStatistics();

        // The prompt is routed at once, then every generated token is fed back in.
        long positions = result.PromptTokens + result.Tokens.Count;
        Assert.Equal(positions, routing.Tokens);
        Assert.Equal(TestModels.Config.NumLayers, routing.Layers.Count);
        Assert.All(routing.Layers, layer =>
        {
            Assert.Equal(positions * TestModels.TopK, layer.Selections.Sum());
            Assert.InRange(layer.LoadImbalance, 1.0, TestModels.Experts);
        });
        Assert.Same(model.Info, model.GetService(typeof(MoEModelInfo)));
        var served = Assert.IsType<RoutingSnapshot>(model.GetService(typeof(RoutingSnapshot)));
        Assert.Equal(routing.Tokens, served.Tokens);
        Assert.Equal(routing.Layers.SelectMany(l => l.Selections), served.Layers.SelectMany(l => l.Selections));
    }

    [Fact]
    public async Task CancellingAStreamStopsTheGenerationAndFreesTheModel()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { QueueCapacity = 0 });
        using var cancellation = new CancellationTokenSource();
        int read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (GeneratedToken _ in model.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { MaxTokens = 200 }, cancellation.Token))
            {
                if (++read == 3)
                {
                    await cancellation.CancelAsync();
                }
            }
        });
        // With no waiting room, this succeeds only if the cancelled request gave its slot back.
        MoEGenerationResult next = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 2 });

        Assert.Equal(3, read);
        Assert.Equal(2, next.Tokens.Count);
    }

    [Fact]
    public async Task ARequestBeyondTheQueueIsRefusedWhileAnotherRuns()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { QueueCapacity = 0 });
        await using IAsyncEnumerator<GeneratedToken> running = model.GenerateStreamingAsync(Prompt, new MoEGenerationOptions { MaxTokens = 200 }).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());

        var e = await Assert.ThrowsAsync<MoEQueueFullException>(() => model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 2 }));

        Assert.Contains("queue is full", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentRequestsGetTheirOwnTokensAndExperts()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { MaxConcurrentRequests = 2 });
        var options = new MoEGenerationOptions { MaxTokens = 16 };
        MoEGenerationResult aloneA = await model.GenerateAsync(Prompt, options);
        MoEGenerationResult aloneB = await model.GenerateAsync("And the earth was without form", options);

        MoEGenerationResult[] together = await Task.WhenAll(
            model.GenerateAsync(Prompt, options), model.GenerateAsync("And the earth was without form", options));

        foreach ((MoEGenerationResult alone, MoEGenerationResult concurrent) in new[] { (aloneA, together[0]), (aloneB, together[1]) })
        {
            Assert.Equal(alone.Text, concurrent.Text);
            Assert.Equal(alone.Tokens.SelectMany(t => t.Experts.SelectMany(l => l)), concurrent.Tokens.SelectMany(t => t.Experts.SelectMany(l => l)));
        }
    }

    [Fact]
    public async Task ServingADefaultExpertsPerTokenLeavesTheGivenModelAsItWas()
    {
        using LanguageModel language = LanguageModel.Open(models.ArtifactPath);
        using (var served = new MoEModel(language, new MoEServingOptions { ExpertsPerToken = 1 }))
        {
            MoEGenerationResult result = await served.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 4 });
            Assert.Equal(1, served.Info.DefaultExpertsPerToken);
            Assert.All(result.Tokens, t => Assert.All(t.Experts, layer => Assert.Single(layer)));
        }
        Assert.All(language.Model.Layers, l => Assert.Equal(TestModels.TopK, ((MoESdk.Modules.MixtureOfExpertsFeedForward)l.FeedForward).TopK));
        Assert.Equal(TestModels.TopK, MoEModelInfo.Describe(language).DefaultExpertsPerToken);
    }

    [Fact]
    public async Task ConcurrentRequestsWithDifferentExpertsPerTokenEachMatchTheirRunAlone()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { MaxConcurrentRequests = 4 });
        MoEGenerationOptions[] requests = [.. Enumerable.Range(1, TestModels.Experts).Select(k => new MoEGenerationOptions { MaxTokens = 12, ExpertsPerToken = k })];
        MoEGenerationResult[] alone = new MoEGenerationResult[requests.Length];
        for (int i = 0; i < requests.Length; i++)
        {
            alone[i] = await model.GenerateAsync(Prompt, requests[i]);
        }
        RoutingSnapshot before = model.GetRoutingStatistics();

        MoEGenerationResult[] together = await Task.WhenAll(requests.Select(r => model.GenerateAsync(Prompt, r)));

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(alone[i].Text, together[i].Text);
            Assert.Equal(i + 1, together[i].ExpertsPerToken);
            Assert.All(together[i].Tokens, t => Assert.All(t.Experts, layer => Assert.Equal(i + 1, layer.Count)));
            Assert.Equal(alone[i].Tokens.SelectMany(t => t.Experts.SelectMany(l => l)), together[i].Tokens.SelectMany(t => t.Experts.SelectMany(l => l)));
        }
        // Each request's selections were counted with its own top-k: positions × k summed over the requests.
        long positions = together.Sum(r => (long)r.PromptTokens + r.Tokens.Count);
        long selections = together.Select((r, i) => ((long)r.PromptTokens + r.Tokens.Count) * (i + 1)).Sum();
        RoutingSnapshot after = model.GetRoutingStatistics();
        Assert.Equal(positions, after.Tokens - before.Tokens);
        Assert.Equal(selections, after.Layers[0].Selections.Sum() - before.Layers[0].Selections.Sum());
        Assert.NotEqual(alone[0].Text, alone[^1].Text);
    }

    [Fact]
    public void APromptLongerThanTheContextIsRejected()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);

        var e = Assert.Throws<PromptTooLongException>(() => model.GenerateStreamingAsync(models.CalibrationText[..4000]));

        Assert.Contains($"holds {TestModels.Config.MaxPositions} positions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScoreMatchesTheEvaluatorsPerplexity()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        using LanguageModel reference = LanguageModel.Open(models.ArtifactPath);
        string text = models.CalibrationText[..400];
        IReadOnlyList<int> tokens = reference.RequireTokenizer().Encode(text, addBos: false);
        Assert.InRange(tokens.Count - 1, 2, TestModels.Config.MaxPositions);

        PerplexityResult score = await model.ScoreAsync(text);
        PerplexityResult expected = ModelEvaluator.Perplexity(reference.Model, new TokenWindows(tokens, tokens.Count - 1));
        PerplexityResult cheaper = await model.ScoreAsync(text, expertsPerToken: 1);

        Assert.Equal(tokens.Count - 1, score.Tokens);
        Assert.Equal(expected.MeanNegativeLogLikelihood, score.MeanNegativeLogLikelihood, 4);
        Assert.NotEqual(score.MeanNegativeLogLikelihood, cheaper.MeanNegativeLogLikelihood, 4);
    }

    [Fact]
    public async Task ALongTextIsScoredInWindowsOverEveryToken()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        using LanguageModel reference = LanguageModel.Open(models.ArtifactPath);
        string text = models.CalibrationText[..3000];
        int tokens = reference.RequireTokenizer().Encode(text, addBos: false).Count;

        PerplexityResult score = await model.ScoreAsync(text);

        Assert.Equal(tokens - 1, score.Tokens);
        Assert.Equal((tokens - 2) / TestModels.Config.MaxPositions + 1, score.Windows);
        Assert.True(score.Windows > 1, $"{tokens} tokens should need more than one window");
        Assert.True(double.IsFinite(score.Perplexity));
    }

    [Fact]
    public async Task ChatResponsesAreTheModelsContinuationOfTheJoinedMessages()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath);
        ChatMessage[] messages = [new(ChatRole.System, "The book of Genesis."), new(ChatRole.User, Prompt)];

        ChatResponse response = await model.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 8 });
        MoEGenerationResult direct = await model.GenerateAsync("The book of Genesis.\n" + Prompt, new MoEGenerationOptions { MaxTokens = 8 });
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in model.GetStreamingResponseAsync(messages, new ChatOptions { MaxOutputTokens = 8 }))
        {
            updates.Add(update);
        }

        Assert.Equal(direct.Text, response.Text);
        Assert.Equal(direct.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(direct.Tokens.Count, (int)response.Usage!.OutputTokenCount!);
        Assert.NotNull(updates[^1].FinishReason);
        Assert.Equal("tiny", model.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task GenerationIsMeasuredOnTheMoESdkMeter()
    {
        using MoEModel model = MoEModel.Open(models.ArtifactPath, new MoEServingOptions { Name = "metered" });
        long tokens = 0, selections = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "MoESdk")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!tags.ToArray().Contains(new KeyValuePair<string, object?>("moe.model", "metered")))
            {
                return;
            }
            if (instrument.Name == "moesdk.tokens.generated")
            {
                tokens += value;
            }
            else if (instrument.Name == "moesdk.expert.selections")
            {
                selections += value;
            }
        });
        var latencies = new List<(string Instrument, object? Operation, object? Provider)>();
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            KeyValuePair<string, object?>[] all = tags.ToArray();
            if (all.Contains(new KeyValuePair<string, object?>("gen_ai.request.model", "metered")))
            {
                lock (latencies)
                {
                    latencies.Add((instrument.Name, all.Single(t => t.Key == "gen_ai.operation.name").Value, all.Single(t => t.Key == "gen_ai.provider.name").Value));
                }
            }
        });
        listener.Start();
        var spans = new List<Activity>();
        using var tracer = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MoESdk",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (Equals(activity.GetTagItem("moe.model"), "metered"))
                {
                    spans.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(tracer);

        MoEGenerationResult result = await model.GenerateAsync(Prompt, new MoEGenerationOptions { MaxTokens = 5 });

        Activity span = Assert.Single(spans);
        Assert.Equal("moe.generate", span.OperationName);
        Assert.Equal(result.Tokens.Count, span.GetTagItem("moe.generated_tokens"));
        // The OpenTelemetry GenAI conventions: span name and attributes, and the three server latency histograms.
        Assert.Equal("text_completion metered", span.DisplayName);
        Assert.Equal("moesdk", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(result.Tokens.Count, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(["length"], (string[])span.GetTagItem("gen_ai.response.finish_reasons")!);
        Assert.Equal(
            ["gen_ai.server.request.duration", "gen_ai.server.time_per_output_token", "gen_ai.server.time_to_first_token"],
            latencies.Select(l => l.Instrument).Distinct().Order(StringComparer.Ordinal));
        Assert.All(latencies, l => Assert.Equal(("text_completion", "moesdk"), ((string?)l.Operation, (string?)l.Provider)));
        Assert.Equal(result.Tokens.Count, tokens);
        Assert.Equal(model.GetRoutingStatistics().Layers.Sum(l => l.Selections.Sum()), selections);
    }
}
