using System.Globalization;
using MoESdk.Conversion;

namespace MoESdk.Sweep;

/// <summary>
/// One conversion recipe of a sweep's grid, named by the <c>moe convert</c> flags that reproduce it: the name is
/// also the key under which a resumed sweep finds the recipes it has already measured.
/// </summary>
/// <param name="Method">How the experts are made.</param>
/// <param name="Experts">Routed experts per layer.</param>
/// <param name="ExpertsPerToken">Routed experts run per token.</param>
/// <param name="SharedExperts">Always-on experts per layer.</param>
/// <param name="Router">The partition methods' router; null for the method's default.</param>
/// <param name="Budget">ToMoE's active share; null for the partition methods, whose share is set by the counts.</param>
/// <param name="TargetBudget">The grid's budget this recipe was made for (the share it aims at).</param>
internal sealed record SweepRecipe(MoEMethod Method, int Experts, int ExpertsPerToken, int SharedExperts, MoERouter? Router, double? Budget, double TargetBudget)
{
    public string Flags => string.Join(' ', FlagList());

    public ConversionOptions Options(int seed) => new()
    {
        Method = Method,
        Experts = Experts,
        ExpertsPerToken = ExpertsPerToken,
        SharedExperts = SharedExperts,
        Router = Router,
        Budget = Budget,
        Seed = seed,
    };

    private IEnumerable<string> FlagList()
    {
        yield return $"--method {ConversionChoice.Name(Method)}";
        yield return $"--experts {Experts}";
        yield return $"--experts-per-token {ExpertsPerToken}";
        if (SharedExperts > 0)
        {
            yield return $"--shared-experts {SharedExperts}";
        }
        if (Router is MoERouter router)
        {
            yield return $"--router {ConversionChoice.Name(router)}";
        }
        if (Budget is double budget)
        {
            yield return $"--budget {budget.ToString(CultureInfo.InvariantCulture)}";
        }
    }
}
