using MoESdk.Modules;
using MoESdk.Runtime;

namespace MoESdk.Generators.Tests;

/// <summary>
/// The runtime types the generated code is made of: identities compare by value across models, descriptors reject
/// impossible shapes, and the routing policy builder leaves validation to the runtime policy, with its messages.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RuntimeHandleTests
{
    /// <summary>Two layers: 4 experts routing to 2, and 2 experts routing to 1 (per-layer experts per token differ).</summary>
    private static readonly RouterDescriptor[] Routers =
    [
        new(new LayerId(0), experts: 4, expertsPerToken: 2, expertWidth: 48),
        new(new LayerId(1), experts: 2, expertsPerToken: 1, expertWidth: 64, sharedExperts: 1, sharedWidth: 32),
    ];

    [Fact]
    public void IdentitiesAreValuesNamedAsTheRuntimesErrorsNameThem()
    {
        var expert = new ExpertId(new LayerId(3), 5);

        Assert.Equal(new ExpertId(new LayerId(3), 5), expert);
        Assert.True(expert == new ExpertId(new LayerId(3), 5));
        Assert.True(expert != new ExpertId(new LayerId(2), 5));
        Assert.NotEqual(new ExpertId(new LayerId(3), 4), expert);
        Assert.Equal(2, new HashSet<ExpertId> { expert, new(new LayerId(3), 5), new(new LayerId(5), 3) }.Count);
        Assert.Equal("layer 3, expert 5", expert.ToString());
        Assert.Equal("layer 3", expert.Layer.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerId(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExpertId(new LayerId(0), -1));
    }

    [Fact]
    public void DescriptorListsItsExpertsAndRejectsImpossibleShapes()
    {
        Assert.Equal([new ExpertId(new LayerId(1), 0), new ExpertId(new LayerId(1), 1)], Routers[1].ExpertIds);

        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => new RouterDescriptor(new LayerId(2), experts: 4, expertsPerToken: 5, expertWidth: 8));
        Assert.StartsWith("Experts per token of layer 2 must be between 1 and its 4 experts.", tooMany.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RouterDescriptor(new LayerId(0), experts: 0, expertsPerToken: 1, expertWidth: 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RouterDescriptor(new LayerId(0), experts: 4, expertsPerToken: 1, expertWidth: 0));
    }

    [Fact]
    public void BuilderMakesTheRuntimePolicyWithRulesForTheNamedLayersOnly()
    {
        ExpertRoutingPolicy policy = new RoutingPolicyBuilder(Routers)
            .Disable(new ExpertId(new LayerId(0), 3))
            .Pin(new ExpertId(new LayerId(0), 0))
            .WithExpertsPerToken(new LayerId(1), 2)
            .Build();

        Assert.Equal([new LayerId(0), new LayerId(1)], policy.RuledLayers);
        Assert.Equal([new ExpertId(new LayerId(0), 3)], Routers.SelectMany(router => router.ExpertIds).Where(policy.IsDisabled));
        Assert.Equal([new ExpertId(new LayerId(0), 0)], Routers.SelectMany(router => router.ExpertIds).Where(policy.IsPinned));
        Assert.Null(policy.ExpertsPerToken(new LayerId(0)));
        Assert.Equal(2, policy.ExpertsPerToken(new LayerId(1)));
        Assert.Empty(new RoutingPolicyBuilder(Routers).Build().RuledLayers);
    }

    [Theory]
    [InlineData("pin-both", "The routing policy pins 2 experts in layer 1 but it routes to only 1: pin fewer or raise its top-k.")]
    [InlineData("disable-both", "The routing policy disables all 2 experts of layer 1; leave at least 1 enabled.")]
    [InlineData("missing-layer", "The routing policy names layer 2, but the model has layers 0..1.")]
    [InlineData("missing-expert", "Layer 1 has experts 0..1; the routing policy names expert(s) 2 that it does not have.")]
    [InlineData("too-many-per-token", "Layer 1 has 2 experts; the routing policy's top-k of 3 is more. Use 1..2.")]
    public void BuildChecksEachLayerAgainstItsOwnRouter(string rule, string message)
    {
        var builder = new RoutingPolicyBuilder(Routers);
        _ = rule switch
        {
            "pin-both" => builder.Pin(Routers[1].ExpertIds[0]).Pin(Routers[1].ExpertIds[1]),
            "disable-both" => builder.Disable(Routers[1].ExpertIds[0]).Disable(Routers[1].ExpertIds[1]),
            "missing-layer" => builder.Disable(new ExpertId(new LayerId(2), 0)),
            "missing-expert" => builder.Pin(new ExpertId(new LayerId(1), 2)),
            "too-many-per-token" => builder.WithExpertsPerToken(new LayerId(1), 3),
            _ => throw new ArgumentOutOfRangeException(nameof(rule)),
        };

        Assert.Equal(message, Assert.Throws<ArgumentException>(builder.Build).Message);
    }

    [Fact]
    public void AnExpertBothDisabledAndPinnedIsTheRuntimesError()
    {
        var expert = Routers[0].ExpertIds[1];
        var builder = new RoutingPolicyBuilder(Routers).Disable(expert).Pin(expert);

        var error = Assert.Throws<ArgumentException>(builder.Build);

        Assert.StartsWith("Expert(s) 1 are both disabled and pinned; remove them from one of the two.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RoutersMustBeListedInLayerOrder()
    {
        var error = Assert.Throws<ArgumentException>(() => new RoutingPolicyBuilder([Routers[1], Routers[0]]));

        Assert.StartsWith("Router 0 must describe layer 0; list the routers one per layer, in layer order.", error.Message, StringComparison.Ordinal);
    }
}
