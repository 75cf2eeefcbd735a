using Microsoft.Extensions.Options;
using MoESdk.Artifacts;
using MoESdk.Loading;
using MoESdk.Serving;

namespace MoESdk.Hosting;

/// <summary>
/// Checks one model's options before the host starts, so a wrong path, experts per token or device stops the host with a message
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
        else if (ExpertsPerTokenSetting(options) is ({ } k, string setting))
        {
            string? perTokenError = CheckExpertsPerToken($"{key}:{setting}", options.Path, k);
            if (perTokenError is not null)
            {
                failures.Add(perTokenError);
            }
        }
#pragma warning disable CS0618 // TopK: the deprecated name, still read
        if (options.TopK is not null && options.ExpertsPerToken is not null)
        {
            failures.Add($"{key}:TopK is the old name of {key}:ExpertsPerToken, which is set too: remove TopK.");
        }
#pragma warning restore CS0618
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
            failures.Add($"{key}:Precision must be Float32, BFloat16, Int8 or Int4, was {options.Precision}.");
        }
        if (options.MapWeights && options.Precision != Inference.DecodePrecision.BFloat16)
        {
            failures.Add($"{key}:MapWeights maps bfloat16 weights and needs Precision: BFloat16, was {options.Precision}; set it, or remove MapWeights.");
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

    /// <summary>The experts per token the options ask for and the key that says it: ExpertsPerToken, or the deprecated TopK.</summary>
    internal static (int? Value, string Setting) ExpertsPerTokenSetting(MoEModelOptions options)
    {
#pragma warning disable CS0618 // TopK: the deprecated name, still read
        return options.ExpertsPerToken is null && options.TopK is not null
            ? (options.TopK, nameof(MoEModelOptions.TopK))
            : (options.ExpertsPerToken, nameof(MoEModelOptions.ExpertsPerToken));
#pragma warning restore CS0618
    }

    private static string? CheckExpertsPerToken(string setting, string path, int k)
    {
        string name = setting[(setting.LastIndexOf(':') + 1)..];
        if (!MoEArtifact.IsArtifact(path))
        {
            return $"{setting} is {k}, but '{System.IO.Path.GetFullPath(path)}' is a dense model without experts. Remove {name}, or point Path at a .moe artifact.";
        }
        MoEManifest manifest = MoEArtifact.ReadManifest(path);
        int experts = manifest.Layers.Min(l => l.Experts);
        return k >= 1 && k <= experts ? null
            : $"{setting} is {k}, but the artifact has {experts} experts per layer. Use a value in 1..{experts}, or leave {name} unset for the artifact's own experts per token ({manifest.Layers[0].TopK}).";
    }
}
