using MoESdk.Hosting;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>GET /experts[?model=name]: live routing statistics, selections per layer and expert and load imbalance.</summary>
public static class ExpertsEndpoint
{
    public static IResult Handle(MoEModelCatalog catalog, string? model = null)
    {
        string name = model ?? catalog.Names[0];
        if (catalog.Find(name) is not IMoEModel found)
        {
            return OpenAiErrors.ModelNotFound(name);
        }
        RoutingSnapshot routing = found.GetRoutingStatistics();
        return Results.Json(new
        {
            Model = name,
            found.Info.DefaultExpertsPerToken,
            routing.Tokens,
            routing.MaxLoadImbalance,
            routing.Layers,
        }, ChatApp.Json);
    }
}
