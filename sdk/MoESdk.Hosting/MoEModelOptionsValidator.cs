using Microsoft.Extensions.Options;
using MoESdk.Artifacts;
using MoESdk.Loading;
using MoESdk.Serving;

namespace MoESdk.Hosting;

/// <summary>
/// Checks one model's options before the host starts, so a wrong path, top-k or device stops the host with a message
/// that names the configuration key and the fix, instead of failing on the first request.
/// </summary>
internal sealed class MoEModelOptionsValidator(string name) : IValidateOptions<MoEModelOptions>
{
    public ValidateOptionsResult Validate(string? optionsName, MoEModelOptions options)
    {
        if (optionsName != name)
        {
            return ValidateOptionsResult.Skip;
        }
        string key = ServiceCollectionExtensions.ConfigurationSection(name);
        var failures = new List<string>();
        string? modelError = CheckPath(key, options.Path);
        if (modelError is not null)
        {
            failures.Add(modelError);
        }
        else if (options.TopK is int k)
        {
            string? topKError = CheckTopK(key, options.Path, k);
            if (topKError is not null)
            {
                failures.Add(topKError);
            }
        }
        try
        {
            TorchDevices.Parse(options.Device ?? "");
        }
        catch (ArgumentException e)
        {
            failures.Add($"{key}:Device: {e.Message}");
        }
        if (!Enum.IsDefined(options.Precision))
        {
            failures.Add($"{key}:Precision must be Float32, BFloat16 or Int8, was {options.Precision}.");
        }
        if (options.MaxConcurrentRequests < 1)
        {
            failures.Add($"{key}:MaxConcurrentRequests must be 1 or more, was {options.MaxConcurrentRequests}.");
        }
        if (options.MaxBatchSize < 1)
        {
            failures.Add($"{key}:MaxBatchSize must be 1 or more, was {options.MaxBatchSize}.");
        }
        if (options.QueueCapacity < 0)
        {
            failures.Add($"{key}:QueueCapacity must be 0 or more, was {options.QueueCapacity}.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string? CheckPath(string key, string? path)
    {
        const string Fix = "Set it to a .moe artifact folder (make one with `moe convert --model <dense model folder> --out <name>.moe --calibration <text file>`) or to a dense model folder.";
        if (string.IsNullOrWhiteSpace(path))
        {
            return $"{key}:Path is not set. {Fix}";
        }
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            return $"{key}:Path '{System.IO.Path.GetFullPath(path)}' does not exist. {Fix}";
        }
        bool isModel = MoEArtifact.IsArtifact(path)
            || File.Exists(System.IO.Path.Combine(path, HuggingFaceConfig.FileName))
            || (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase));
        return isModel ? null
            : $"{key}:Path '{System.IO.Path.GetFullPath(path)}' is not a model: it has neither {MoEManifest.FileName} (a .moe artifact) nor {HuggingFaceConfig.FileName} (a dense model). {Fix}";
    }

    private static string? CheckTopK(string key, string path, int k)
    {
        if (!MoEArtifact.IsArtifact(path))
        {
            return $"{key}:TopK is {k}, but '{System.IO.Path.GetFullPath(path)}' is a dense model without experts. Remove TopK, or point Path at a .moe artifact.";
        }
        MoEManifest manifest = MoEArtifact.ReadManifest(path);
        int experts = manifest.Layers.Min(l => l.Experts);
        return k >= 1 && k <= experts ? null
            : $"{key}:TopK is {k}, but the artifact has {experts} experts per layer. Use a value in 1..{experts}, or leave TopK unset for the artifact's own top-k ({manifest.Layers[0].TopK}).";
    }
}
