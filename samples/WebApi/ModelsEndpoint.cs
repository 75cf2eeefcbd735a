using MoESdk.Hosting;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>GET /v1/models: the served models, with their experts.</summary>
public static class ModelsEndpoint
{
    public static IResult Handle(MoEModelCatalog catalog) => Results.Json(new ModelList("list", catalog.Names.Select(name =>
    {
        MoEModelInfo info = catalog.Find(name)!.Info;
        return new ModelContract(name, "model", 0, "moesdk", info.ContextLength, info.ExpertsPerLayer, info.DefaultExpertsPerToken);
    }).ToArray()), ChatApp.Json);
}
