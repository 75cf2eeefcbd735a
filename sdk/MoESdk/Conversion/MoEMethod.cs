using System.ComponentModel;

namespace MoESdk.Conversion;

/// <summary>
/// How a dense model's feed-forward layers become experts. This enum is the one list of methods: every tool names a
/// method by its member name in lowercase (factor, cluster, coact, tomoe) and describes it by its
/// <see cref="DescriptionAttribute"/>. The CLI's <c>--method</c> and its help, the MSBuild task (which compiles this
/// file in) and its property page, the templates' choices and the docs follow it; tests check the copies.
/// </summary>
public enum MoEMethod
{
    /// <summary>FactorLLM: contiguous slices of the FFN neurons, PAR-trained router.</summary>
    [Description("FactorLLM: contiguous slices of the FFN neurons and a trained router")]
    Factor,

    /// <summary>MoEfication: balanced k-means clusters of the neurons, analytic router.</summary>
    [Description("MoEfication-style neuron clustering, training-free")]
    Cluster,

    /// <summary>CMoE: one shared expert of the most active neurons, the rest grouped by co-activation, analytic router.</summary>
    [Description("CMoE-style co-activation experts with one shared expert, training-free")]
    Coact,

    /// <summary>ToMoE: learned expert masks and a Gumbel router, top-1.</summary>
    [Description("ToMoE: learned expert masks and router, one expert per token")]
    ToMoE,
}
