using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using MoESdk.Generators.Model;

namespace MoESdk.Generators.Parsing;

/// <summary>
/// Keeps one model per generated class name. Two manifests that sanitize to the same name (e.g. <c>kjv-llama</c>
/// and <c>kjv_llama</c>) would emit the same class and the same <c>Add…MoE</c> method, so the later one is skipped
/// with MOE2003.
/// </summary>
internal static class ModelSetResolver
{
    public static ModelSet Resolve(ImmutableArray<ModelSpec> models)
    {
        var kept = new List<ModelSpec>(models.Length);
        var byTypeName = new Dictionary<string, ModelSpec>(StringComparer.Ordinal);
        var diagnostics = new List<DiagnosticInfo>();
        foreach (var model in models)
        {
            if (byTypeName.TryGetValue(model.TypeName, out var first))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateModelName, model.NameLocation,
                    first.ModelName + " (" + first.NameLocation.FilePath + ")", model.ModelName + " (" + model.NameLocation.FilePath + ")", model.TypeName));
                continue;
            }

            byTypeName.Add(model.TypeName, model);
            kept.Add(model);
        }

        return new ModelSet(new EquatableArray<ModelSpec>(kept), new EquatableArray<DiagnosticInfo>(diagnostics));
    }
}
