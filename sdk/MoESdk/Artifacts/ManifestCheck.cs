using MoESdk.Loading;

namespace MoESdk.Artifacts;

/// <summary>
/// The checks a deserialized <c>moe.json</c> must pass before anything uses it: every required field present
/// (JSON null included), sizes positive, and every file it names inside the artifact folder.
/// </summary>
internal static class ManifestCheck
{
    public static void Validate(MoEManifest? manifest, string file, string folder)
    {
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                throw new ModelFormatException(file, problem);
            }
        }

        Require(manifest is not null, "is null; a manifest is a JSON object with name, source, architecture, method and layers");
        MoEManifest m = manifest!;
        Require(!string.IsNullOrWhiteSpace(m.Name), "\"name\" is missing or empty");
        Require(m.Source is { Path: not null, Sha256: not null }, "\"source\" must give the source model's \"path\" and \"sha256\"");
        ArchitectureSummary? a = m.Architecture;
        Require(a is { Architecture: not null }, "\"architecture\" is missing or names no architecture");
        Require(a!.HiddenSize > 0 && a.IntermediateSize > 0 && a.Layers > 0 && a.Heads > 0 && a.KeyValueHeads > 0 && a.VocabSize > 0 && a.ContextLength > 0,
            "\"architecture\" sizes must all be positive");
        Require(m.Method is { Name: not null, Partition: not null, Router: not null, Parameters: not null } && Enum.IsDefined(m.Method.OutputRule),
            "\"method\" must give name, partition, router, outputRule and parameters");
        Require(m.Layers is not null, "\"layers\" is missing");
        Require(m.Layers!.Count == a.Layers, $"lists {m.Layers.Count} layers but the architecture has {a.Layers}");
        for (int i = 0; i < m.Layers.Count; i++)
        {
            LayerExperts? l = m.Layers[i];
            Require(l is not null, $"layers[{i}] is null; each layer gives experts, expertWidth and topK");
            Require(l!.Experts >= 1 && l.TopK >= 1 && l.TopK <= l.Experts && l.ExpertWidth >= 1 && l.SharedExperts >= 0 && (l.SharedExperts == 0 || l.SharedWidth >= 1),
                $"layer {i}: {l.Experts} experts of width {l.ExpertWidth} with top-k {l.TopK} ({l.SharedExperts} shared of width {l.SharedWidth}) is not a valid layout");
        }
        Require(m.TokenizerFiles is not null && m.TokenizerFiles.All(name => name is not null), "\"tokenizerFiles\" must be a list of file names");
        Require(m.Adaptation is null || m.Adaptation is { Selection: not null, Experts: not null, Routers: not null, Data: not null },
            "\"adaptation\" must give selection, experts, routers and data");
        Inside(folder, m.Weights, "weights", Require);
        foreach (string name in m.TokenizerFiles!)
        {
            Inside(folder, name, "tokenizerFiles", Require);
        }
    }

    // Names in a manifest come from a file anyone can edit: one that leads out of the artifact folder
    // (../.., an absolute path) would make the reader open files the user never meant to give it.
    private static void Inside(string folder, string? relative, string field, Action<bool, string> require)
    {
        require(!string.IsNullOrWhiteSpace(relative) && !relative.Contains('\0', StringComparison.Ordinal), $"\"{field}\" must name a file inside the artifact folder");
        string full = Path.GetFullPath(Path.Combine(folder, relative!));
        require(!Path.IsPathRooted(relative) && full.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal),
            $"\"{field}\" '{relative}' points outside the artifact folder; it must name a file inside it, e.g. model.safetensors");
    }
}
