using MoESdk.Conversion;
using MoESdk.Loading;

namespace MoESdk.Sweep;

/// <summary>
/// The recipes a sweep converts: every method at every budget and granularity asked for. A granularity is the number
/// of equal slices the FFN is cut into: factor and cluster route all of them; coact keeps the most active slice as a
/// shared expert and routes the rest; ToMoE learns its experts' width from the budget. The experts run per token are
/// the budget's share of the slices, so every recipe of a budget uses about the same active FFN.
/// </summary>
internal static class SweepGrid
{
    /// <summary>
    /// The recipes, and for each shape that cannot be made the reason (so the sweep can say what it left out). The lists are
    /// checked by the caller: known methods, budgets in (0, 1], granularities of 2 or more.
    /// </summary>
    public static (IReadOnlyList<SweepRecipe> Recipes, IReadOnlyList<string> Skipped) For(ModelConfig config, IReadOnlyList<double> budgets,
        IReadOnlyList<MoEMethod> methods, IReadOnlyList<int> granularities, IReadOnlyList<MoERouter> routers)
    {
        var recipes = new List<SweepRecipe>();
        var skipped = new List<string>();
        foreach (double budget in budgets)
        {
            foreach (MoEMethod method in methods)
            {
                foreach (int slices in granularities)
                {
                    if (method != MoEMethod.ToMoE && config.IntermediateSize % slices != 0)
                    {
                        skipped.Add($"{ConversionChoice.Name(method)} with {slices} slices: the FFN width {config.IntermediateSize} does not divide into {slices}");
                        continue;
                    }
                    int active = (int)Math.Max(1, Math.Round(budget * slices, MidpointRounding.AwayFromZero));
                    SweepRecipe recipe = method switch
                    {
                        MoEMethod.ToMoE => new SweepRecipe(method, slices, 1, 0, null, budget, budget),
                        MoEMethod.Coact => new SweepRecipe(method, slices - 1, Math.Max(1, active - 1), 1, null, null, budget),
                        _ => new SweepRecipe(method, slices, active, 0, null, null, budget),
                    };
                    // ToMoE trains its own router: the router choice applies to the partition methods only.
                    IEnumerable<MoERouter?> routersOfMethod = method == MoEMethod.ToMoE || routers.Count == 0 ? [null] : routers.Cast<MoERouter?>();
                    recipes.AddRange(routersOfMethod.Select(router => recipe with { Router = router }));
                }
            }
        }
        return (recipes.DistinctBy(r => r.Flags).ToArray(), skipped);
    }
}
