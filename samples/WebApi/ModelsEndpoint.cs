using MoESdk.Hosting;
using MoESdk.Serving;

namespace MoESdk.Samples.WebApi;

/// <summary>GET /v1/models: the served models, with their experts; GET /v1/models/{id}: one of them.</summary>
public static class ModelsEndpoint
{
    public static IResult Handle(MoEModelCatalog catalog) =>
        Results.Json(new ModelList("list", catalog.Names.Select(name => Describe(name, catalog.Find(name)!.Info)).ToArray()), ChatApp.Json);

    public static IResult HandleOne(MoEModelCatalog catalog, string id) =>
        catalog.Find(id) is IMoEModel model ? Results.Json(Describe(id, model.Info), ChatApp.Json) : OpenAiErrors.ModelNotFound(id);

    private static ModelContract Describe(string name, MoEModelInfo info) =>
        new(name, "model", 0, "moesdk", info.ContextLength, info.ExpertsPerLayer, info.DefaultExpertsPerToken);
}
