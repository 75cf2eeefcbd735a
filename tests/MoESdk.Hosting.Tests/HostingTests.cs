using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MoESdk.Serving;

namespace MoESdk.Hosting.Tests;

[Collection(ModelCollection.Name)]
[Trait("Category", "Unit")]
public sealed class HostingTests(TestModels models)
{
    private static IHost BuildHost(IDictionary<string, string?> settings, Action<IServiceCollection> register)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        register(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task ModelsAreServedByNameAndTheFirstAlsoWithoutAKey()
    {
        using IHost host = BuildHost(
            new Dictionary<string, string?> { ["MoE:Models:tiny:Path"] = models.ArtifactPath, ["MoE:Models:tiny:TopK"] = "1" },
            services =>
            {
                services.AddMoEModel("tiny");
                services.AddMoEModel("dense", o => o.Path = models.DensePath);
            });
        await host.StartAsync();

        IMoEModel tiny = host.Services.GetRequiredKeyedService<IMoEModel>("tiny");
        IMoEModel dense = host.Services.GetRequiredKeyedService<IMoEModel>("dense");
        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        await host.StopAsync();

        Assert.Same(tiny, host.Services.GetRequiredService<IMoEModel>());
        Assert.Same(tiny, host.Services.GetRequiredService<IChatClient>());
        Assert.Same(dense, host.Services.GetRequiredKeyedService<IChatClient>("dense"));
        Assert.Equal(1, tiny.Info.DefaultExpertsPerToken);
        Assert.Equal("tiny", tiny.Info.Name);
        Assert.False(dense.Info.IsMixtureOfExperts);
        Assert.Equal(["tiny", "dense"], host.Services.GetRequiredService<MoEModelCatalog>().Names);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.Equal(["moe-tiny", "moe-dense"], health.Entries.Keys);
        // Warm-up ran one token through each model.
        Assert.True(tiny.GetRoutingStatistics().Tokens > 0);
    }

    [Fact]
    public async Task PrecisionFromConfigurationServesInt8()
    {
        using IHost host = BuildHost(
            new Dictionary<string, string?> { ["MoE:Models:tiny:Path"] = models.ArtifactPath, ["MoE:Models:tiny:Precision"] = "Int8" },
            services => services.AddMoEModel("tiny"));
        await host.StartAsync();

        IMoEModel tiny = host.Services.GetRequiredKeyedService<IMoEModel>("tiny");
        ChatResponse response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync("In the beginning", new ChatOptions { MaxOutputTokens = 4 });
        await host.StopAsync();

        Assert.Equal(MoESdk.Inference.DecodePrecision.Int8, tiny.Info.DecodePrecision);
        Assert.Equal(4, response.Usage?.OutputTokenCount);
    }

    [Fact]
    public void CodeConfigurationOverridesTheConfigurationSection()
    {
        using IHost host = BuildHost(
            new Dictionary<string, string?> { ["MoE:Models:tiny:Path"] = "/nowhere", ["MoE:Models:tiny:QueueCapacity"] = "3" },
            services => services.AddMoEModel("tiny", o => o.Path = models.ArtifactPath));

        MoEModelOptions options = host.Services.GetRequiredService<IOptionsMonitor<MoEModelOptions>>().Get("tiny");

        Assert.Equal(models.ArtifactPath, options.Path);
        Assert.Equal(3, options.QueueCapacity);
    }

    [Theory]
    [InlineData("ExpertsPerToken")]
    [InlineData("TopK")] // the name before ExpertsPerToken, still read
    public void ExpertsPerTokenIsReadUnderItsNameAndItsOldOne(string setting)
    {
        using IHost host = BuildHost(
            new Dictionary<string, string?> { ["MoE:Models:tiny:Path"] = models.ArtifactPath, [$"MoE:Models:tiny:{setting}"] = "1", ["MoE:Models:tiny:WarmUp"] = "false" },
            services => services.AddMoEModel("tiny"));

        IMoEModel tiny = host.Services.GetRequiredKeyedService<IMoEModel>("tiny");

        Assert.Equal(1, tiny.Info.DefaultExpertsPerToken);
        Assert.NotEqual(1, TestModels.TopK); // the artifact's own, which the setting replaced
    }

    [Theory]
    [InlineData("", "MoE:Models:bad:Path is not set")]
    [InlineData("Path={root}/missing.moe", "missing.moe' does not exist")]
    [InlineData("Path={root}", "is not a model")]
    [InlineData("ExpertsPerToken=0", "MoE:Models:bad:ExpertsPerToken is 0, but the artifact has 4 experts per layer. Use a value in 1..4, or leave ExpertsPerToken unset")]
    [InlineData("ExpertsPerToken=9", "MoE:Models:bad:ExpertsPerToken is 9")]
    [InlineData("Path={dense};ExpertsPerToken=1", "is a dense model without experts. Remove ExpertsPerToken")]
    // The old key is still read, and named as the configuration wrote it.
    [InlineData("TopK=9", "MoE:Models:bad:TopK is 9, but the artifact has 4 experts per layer. Use a value in 1..4, or leave TopK unset")]
    [InlineData("Path={artifact};ExpertsPerToken=2;TopK=2", "MoE:Models:bad:TopK is the old name of MoE:Models:bad:ExpertsPerToken, which is set too: remove TopK.")]
    [InlineData("Device=tpu", "MoE:Models:bad:Device: Unknown device 'tpu'")]
    [InlineData("Device=cuda", "TorchSharp-cuda-linux or TorchSharp-cuda-windows")]
    [InlineData("MaxConcurrentRequests=0", "MoE:Models:bad:MaxConcurrentRequests must be 1 or more")]
    [InlineData("MaxBatchSize=0", "MoE:Models:bad:MaxBatchSize must be 1 or more")]
    [InlineData("QueueCapacity=-1", "MoE:Models:bad:QueueCapacity must be 0 or more")]
    [InlineData("MapWeights=true", "MoE:Models:bad:MapWeights maps bfloat16 weights and needs Precision: BFloat16, was Float32; set it, or remove MapWeights.")]
    public async Task TheHostDoesNotStartWithBadOptions(string settings, string expected)
    {
        var values = new Dictionary<string, string?>();
        if (settings.Length > 0 && !settings.StartsWith("Path=", StringComparison.Ordinal) && !settings.Contains(";", StringComparison.Ordinal))
        {
            values["MoE:Models:bad:Path"] = models.ArtifactPath;
        }
        foreach (string setting in settings.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] pair = setting.Split('=', 2);
            values["MoE:Models:bad:" + pair[0]] = pair[1].Replace("{root}", models.Root, StringComparison.Ordinal).Replace("{dense}", models.DensePath, StringComparison.Ordinal)
                .Replace("{artifact}", models.ArtifactPath, StringComparison.Ordinal);
        }
        using IHost host = BuildHost(values, services => services.AddMoEModel("bad"));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
