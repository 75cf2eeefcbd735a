using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MoESdk.Conversion;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MoESdk.Build
{
    /// <summary>
    /// Converts one <c>MoEModel</c> item (a dense Hugging Face model folder) into a Mixture-of-Experts artifact by
    /// running the <c>moe convert</c> converter out of process, the way Grpc.Tools runs protoc: libtorch never
    /// loads into a long-lived MSBuild node, and cancelling the build kills the converter (ToolTask's MSB5021). The converter writes
    /// the artifact into a temporary folder and renames it at the end, so a cancelled or failed conversion
    /// leaves no partial artifact; the temporary folder of a killed converter is removed here.
    /// Conversions are content-addressed (<see cref="ArtifactKey"/>): the converter writes into the shared artifact cache,
    /// and every configuration, RID and TFM of the project takes its copy from there, so one model is converted once.
    /// </summary>
    public sealed class ConvertMoEModel : ToolTask
    {
        /// <summary>Conversion methods the converter knows: <see cref="MoEMethod"/>'s members in lowercase (the library's file, compiled in).</summary>
        internal static readonly string[] Methods = Array.ConvertAll((MoEMethod[])Enum.GetValues(typeof(MoEMethod)), m => m.ToString().ToLowerInvariant());

        /// <summary>What the converter measures after converting: a build wants the artifact alone unless the item asks.</summary>
        internal static readonly string[] ReportLevels = { "none", "quality", "full" };

        /// <summary>Weight types the artifact can be stored in.</summary>
        internal static readonly string[] StorageTypes = { "f32", "bf16" };

        private const string ConfigFileName = "config.json";
        private const int ErrorLinesKept = 8;

        private readonly Queue<string> _recentErrors = new Queue<string>();

        /// <summary>The item as the project file writes it (e.g. <c>models/kjv-llama</c>), named in every message.</summary>
        [Required]
        public string ItemSpec { get; set; } = "";

        /// <summary>The project file that declares the item: errors point at it.</summary>
        public string ProjectFile { get; set; } = "";

        /// <summary>Full path of the dense model folder.</summary>
        [Required]
        public string ModelPath { get; set; } = "";

        /// <summary>Full path of this configuration's artifact folder (<c>name.moe</c>), a copy of the cached one.</summary>
        [Required]
        public string ArtifactPath { get; set; } = "";

        /// <summary>The shared artifact cache (property <c>MoEArtifactCache</c>): conversions land in <c>KEY/name.moe</c> under it.</summary>
        [Required]
        public string CacheDirectory { get; set; } = "";

        /// <summary>This configuration's record of the key its artifact has, with the cheap stamp the key was computed for.</summary>
        [Required]
        public string KeyFile { get; set; } = "";

        /// <summary>Routed experts per layer (metadata <c>Experts</c>, validated here).</summary>
        public string Experts { get; set; } = "";

        /// <summary>Experts run per token (metadata <c>ExpertsPerToken</c>, validated here).</summary>
        public string ExpertsPerToken { get; set; } = "";

        /// <summary>
        /// The deprecated name of <see cref="ExpertsPerToken"/> (metadata <c>TopK</c>): still used, with warning MOE1011, and it
        /// wins over ExpertsPerToken, whose default the item always has.
        /// </summary>
        public string TopK { get; set; } = "";

        /// <summary>Conversion method (metadata <c>Method</c>).</summary>
        public string Method { get; set; } = "";

        /// <summary>
        /// What the converter measures after converting (metadata <c>Report</c>): none (default: no evaluation, no speed
        /// benchmark, no timing in moe.json), quality or full.
        /// </summary>
        public string Report { get; set; } = "";

        /// <summary>The artifact's stored weight type (metadata <c>DType</c>): f32 (default) or bf16, half the bytes on disk.</summary>
        public string DType { get; set; } = "";

        /// <summary>Full path of the calibration text; empty when neither the item nor the model folder names one.</summary>
        public string Calibration { get; set; } = "";

        /// <summary>Device the converter computes on (property <c>MoEDevice</c>); the converter runs on cpu.</summary>
        public string Device { get; set; } = "";

        /// <summary>The converter: a framework-dependent <c>moe.dll</c> (started with dotnet) or an executable.</summary>
        [Required]
        public string ConverterPath { get; set; } = "";

        /// <summary>The dotnet host that starts a <c>moe.dll</c> converter; empty: dotnet from PATH.</summary>
        public string DotNetHostPath { get; set; } = "";

        /// <summary>Extra converter arguments (property <c>MoEConverterArguments</c>), appended as written.</summary>
        public string ConverterArguments { get; set; } = "";

        /// <summary>The artifact's manifest (<c>moe.json</c>) when the conversion succeeded.</summary>
        [Output]
        public ITaskItem? ConvertedManifest { get; private set; }

        /// <summary>The artifact's manifest when it was taken from the cache, converted earlier for another configuration.</summary>
        [Output]
        public ITaskItem? ReusedManifest { get; private set; }

        /// <summary>Key characters naming a cache folder: 80 bits, short enough for Windows paths.</summary>
        private const int KeyLength = 20;

        /// <summary>Where the converter writes: the artifact's folder in the cache.</summary>
        private string _conversionTarget = "";

        /// <inheritdoc/>
        protected override string ToolName => RunsOnDotNetHost ? "dotnet" : Path.GetFileName(ConverterPath);

        private bool RunsOnDotNetHost => ConverterPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

        /// <inheritdoc/>
        public override bool Execute()
        {
            // Here, not in ValidateParameters, which ToolTask runs a second time when the converter starts: one warning per build.
            if (TopK.Length > 0)
            {
                Log.LogWarning(null, BuildErrors.DeprecatedTopK, null, DiagnosticHelp.LinkFor(BuildErrors.DeprecatedTopK), ProjectFile.Length > 0 ? ProjectFile : BuildEngine?.ProjectFileOfTaskNode,
                    0, 0, 0, 0, "MoEModel '{0}': the TopK metadata is deprecated: rename it to ExpertsPerToken (experts run per token, unlike the sampler's top-k). TopK='{1}' is used.", ItemSpec, TopK);
            }
            RemoveInterruptedOutput(ArtifactPath);
            if (!ValidateParameters())
            {
                return false;
            }
            string manifest = Path.Combine(ArtifactPath, "moe.json");
            // "topK=" as before the rename: the same settings keep their cache key, and artifacts cached earlier are reused.
            string settings = string.Join(";", "experts=" + Experts, "topK=" + ItemExpertsPerToken.Value, "method=" + Method, "report=" + Report, "dtype=" + DType, "device=" + Device,
                "arguments=" + ConverterArguments.Trim(), "artifact=" + ArtifactName);
            ArtifactKey inputs = ArtifactKey.Of(ModelPath, Calibration, ConverterPath, settings);
            string stamp = inputs.Stamp();
            (string? recordedStamp, string? recordedKey) = ArtifactKey.Recorded(KeyFile);
            bool haveArtifact = File.Exists(manifest);
            if (haveArtifact && recordedStamp == stamp)
            {
                return true; // Nothing changed, not even a timestamp: the no-op build hashes nothing.
            }
            string key = inputs.Hash().Substring(0, KeyLength);
            if (haveArtifact && recordedKey == key)
            {
                // Timestamps changed (a checkout, a copy), contents did not: no conversion, no copy.
                ArtifactKey.Record(KeyFile, stamp, key);
                Log.LogMessage(MessageImportance.Normal, "MoESdk: {0}: the inputs' timestamps changed, their contents did not", ItemSpec);
                return true;
            }

            string cached = Path.Combine(CacheDirectory, key, ArtifactName);
            bool converted;
            using (CacheLock.Take(Path.Combine(CacheDirectory, key + ".lock"), () =>
                Log.LogMessage(MessageImportance.High, "MoESdk: {0}: waiting for another build converting the same model into {1}", ItemSpec, cached)))
            {
                converted = !File.Exists(Path.Combine(cached, "moe.json"));
                if (converted && !Convert(cached))
                {
                    return false;
                }
            }
            Mirror(cached, ArtifactPath);
            ArtifactKey.Record(KeyFile, stamp, key);
            if (converted)
            {
                ConvertedManifest = new TaskItem(manifest);
                Log.LogMessage(MessageImportance.High, "MoESdk: converted {0} into {1} (artifact cache {2})", ItemSpec, ArtifactPath, cached);
            }
            else
            {
                ReusedManifest = new TaskItem(manifest);
                Log.LogMessage(MessageImportance.High, "MoESdk: {0}: reused {1} from the artifact cache; conversion skipped", ItemSpec, cached);
            }
            return true;
        }

        private string ArtifactName => Path.GetFileName(ArtifactPath.TrimEnd('/', '\\'));

        /// <summary>Runs the converter into <paramref name="target"/>.</summary>
        private bool Convert(string target)
        {
            _conversionTarget = target;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            RemoveInterruptedOutput(target);
            try
            {
                return base.Execute() && !Log.HasLoggedErrors;
            }
            finally
            {
                RemoveInterruptedOutput(target);
            }
        }

        /// <summary>
        /// Replaces <paramref name="destination"/> with a copy of the cached artifact, written beside it and renamed, so an
        /// interrupted copy leaves no partial artifact. The copies get the current time: the output folder's copy
        /// (PreserveNewest) follows an artifact taken from the cache that is older than the one it replaces.
        /// </summary>
        private static void Mirror(string cached, string destination)
        {
            string target = destination.TrimEnd('/', '\\');
            string partial = target + ".partial-" + System.Diagnostics.Process.GetCurrentProcess().Id.ToString(CultureInfo.InvariantCulture);
            Directory.CreateDirectory(partial);
            foreach (string file in Directory.GetFiles(cached, "*", SearchOption.AllDirectories))
            {
                string copy = Path.Combine(partial, file.Substring(cached.Length).TrimStart('/', '\\'));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
                File.SetLastWriteTimeUtc(copy, DateTime.UtcNow);
            }
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(partial, target);
        }

        /// <summary>Tells stderr lines (progress, errors) from stdout lines (the report) in <see cref="LogEventsFromTextOutput"/>.</summary>
        protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

        /// <inheritdoc/>
        protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;

        /// <inheritdoc/>
        protected override string GenerateFullPathToTool()
        {
            if (!RunsOnDotNetHost)
            {
                return ConverterPath;
            }
            return string.IsNullOrEmpty(DotNetHostPath) ? "dotnet" : DotNetHostPath;
        }

        /// <inheritdoc/>
        protected override string GetWorkingDirectory() => Path.GetDirectoryName(ConverterPath) ?? base.GetWorkingDirectory();

        /// <inheritdoc/>
        protected override bool ValidateParameters()
        {
            if (!Directory.Exists(ModelPath))
            {
                Error(BuildErrors.MissingModel, File.Exists(ModelPath)
                    ? $"'{ModelPath}' is a file; MoEModel takes a Hugging Face model folder (config.json, *.safetensors, tokenizer files)."
                    : $"the model folder '{ModelPath}' does not exist. Point Include at a Hugging Face model folder (config.json, *.safetensors, tokenizer files).");
                return false;
            }
            if (!File.Exists(Path.Combine(ModelPath, ConfigFileName)))
            {
                Error(BuildErrors.UnsupportedModel,
                    $"'{ModelPath}' is not a model folder: it has no {ConfigFileName}. MoEModel takes a Hugging Face LLaMA-family folder as saved by save_pretrained (config.json, *.safetensors, tokenizer files).");
                return false;
            }
            ValidateSettings();
            ValidateCalibration();
            if (!Log.HasLoggedErrors && !File.Exists(ConverterPath))
            {
                Error(BuildErrors.ConverterNotFound,
                    $"the converter '{ConverterPath}' does not exist. Restore the MoESdk package again, or set MoEConverterPath to a moe.dll or moe executable.");
            }
            return !Log.HasLoggedErrors;
        }

        private void ValidateSettings()
        {
            // Empty counts are the converter's defaults, which follow the method (and it checks them against the model).
            bool expertsValid = int.TryParse(Experts, NumberStyles.None, CultureInfo.InvariantCulture, out int experts) && experts >= 2;
            if (Experts.Length > 0 && !expertsValid)
            {
                Error(BuildErrors.InvalidSettings, $"Experts='{Experts}' is not valid: use a whole number of routed experts, at least 2, that divides the model's FFN width (e.g. 8), or leave it empty for the default.");
            }
            (string name, string value) = ItemExpertsPerToken;
            if (value.Length > 0 && (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int perToken) || perToken < 1 || (expertsValid && perToken > experts)))
            {
                Error(BuildErrors.InvalidSettings, $"{name}='{value}' is not valid: use a whole number of experts run per token, from 1 to Experts{(expertsValid ? $" ({experts})" : "")}.");
            }
            if (Array.IndexOf(Methods, Method) < 0)
            {
                Error(BuildErrors.InvalidSettings, $"Method='{Method}' is not valid: use one of {string.Join(", ", Methods)}.");
            }
            if (DType.Length > 0 && Array.IndexOf(StorageTypes, DType) < 0)
            {
                Error(BuildErrors.InvalidSettings, $"DType='{DType}' is not valid: use one of {string.Join(", ", StorageTypes)} (the stored weight type; f32 is the default).");
            }
            if (Report.Length > 0 && Array.IndexOf(ReportLevels, Report) < 0)
            {
                Error(BuildErrors.InvalidSettings, $"Report='{Report}' is not valid: use one of {string.Join(", ", ReportLevels)} (none, the default, converts without measuring).");
            }
            if (Device.Length > 0 && !string.Equals(Device, "cpu", StringComparison.OrdinalIgnoreCase))
            {
                Error(BuildErrors.InvalidSettings, $"MoEDevice='{Device}' is not supported: the converter runs on cpu; remove MoEDevice or set it to cpu.");
            }
        }

        /// <summary>The item's experts per token and the metadata that set it: the deprecated TopK when given, else ExpertsPerToken.</summary>
        private (string Name, string Value) ItemExpertsPerToken => TopK.Length > 0 ? ("TopK", TopK) : ("ExpertsPerToken", ExpertsPerToken);

        /// <summary>The converter's flags for the item's metadata: the command line is written from them, and the converter's errors name the metadata again.</summary>
        private IEnumerable<(string Metadata, string Flag, string Value)> ConverterSwitches()
        {
            yield return ("Experts", "--experts", Experts);
            yield return (ItemExpertsPerToken.Name, "--experts-per-token", ItemExpertsPerToken.Value);
            yield return ("Method", "--method", Method);
            yield return ("Calibration", "--calibration", Calibration);
            yield return ("Report", "--report", Report.Length > 0 ? Report : "none");
            yield return ("DType", "--dtype", DType.Length > 0 ? DType : "f32");
        }

        private void ValidateCalibration()
        {
            if (Calibration.Length == 0)
            {
                Error(BuildErrors.MissingCalibration,
                    $"no calibration text: set Calibration=\"path/to/text.txt\" on the item, or add data/calibration.txt to the model folder '{ModelPath}'.");
            }
            else if (!File.Exists(Calibration))
            {
                Error(BuildErrors.MissingCalibration, $"the calibration text '{Calibration}' does not exist. Fix the item's Calibration path.");
            }
        }

        /// <inheritdoc/>
        protected override string GenerateCommandLineCommands()
        {
            var command = new CommandLineBuilder(quoteHyphensOnCommandLine: false, useNewLineSeparator: false);
            if (RunsOnDotNetHost)
            {
                command.AppendFileNameIfNotNull(ConverterPath);
            }
            command.AppendSwitch("convert");
            command.AppendSwitchIfNotNull("--model ", ModelPath);
            command.AppendSwitchIfNotNull("--out ", _conversionTarget.TrimEnd('/', '\\'));
            foreach ((_, string flag, string value) in ConverterSwitches().Where(s => s.Value.Length > 0))
            {
                command.AppendSwitchIfNotNull(flag + " ", value);
            }
            command.AppendSwitch("--msbuild");
            if (!string.IsNullOrWhiteSpace(ConverterArguments))
            {
                command.AppendTextUnquoted(" " + ConverterArguments.Trim());
            }
            return command.ToString();
        }

        /// <inheritdoc/>
        protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
        {
            ConverterOutputLine line = ConverterOutputLine.Parse(singleLine);
            if (line.Code != null)
            {
                Error(line.Code, ConverterVocabulary.InMetadata(line.Text, ConverterSwitches().Select(s => (s.Flag, s.Metadata))));
                return;
            }
            if (line.Text.Length == 0)
            {
                return;
            }
            if (messageImportance == StandardErrorLoggingImportance)
            {
                RememberError(line.Text);
            }
            // Progress and the quality report: visible at normal verbosity, so a long conversion is seen to move.
            Log.LogMessage(MessageImportance.Normal, "MoESdk: {0}: {1}", ItemSpec, line.Text);
        }

        /// <inheritdoc/>
        protected override bool HandleTaskExecutionErrors()
        {
            if (!Log.HasLoggedErrors)
            {
                string output = _recentErrors.Count == 0 ? "it printed nothing" : "its last messages: " + string.Join(" | ", _recentErrors);
                Error(BuildErrors.ConverterFailed, $"the converter failed (exit code {ExitCode}); no artifact was written; {output}");
            }
            return false;
        }

        private void RememberError(string text)
        {
            _recentErrors.Enqueue(text);
            if (_recentErrors.Count > ErrorLinesKept)
            {
                _recentErrors.Dequeue();
            }
        }

        private void Error(string code, string message) =>
            Log.LogError(null, code, null, DiagnosticHelp.LinkFor(code), ProjectFile.Length > 0 ? ProjectFile : BuildEngine?.ProjectFileOfTaskNode, 0, 0, 0, 0, "MoEModel '{0}': {1}", ItemSpec, message);

        /// <summary>Removes the temporary folders a killed converter or copy leaves beside an artifact (<c>name.moe.partial-PID</c>).</summary>
        private void RemoveInterruptedOutput(string artifactPath)
        {
            string artifact = artifactPath.TrimEnd('/', '\\');
            string? parent = Path.GetDirectoryName(artifact);
            if (parent == null || !Directory.Exists(parent))
            {
                return;
            }
            foreach (string partial in Directory.GetDirectories(parent, Path.GetFileName(artifact) + ".partial-*"))
            {
                try
                {
                    Directory.Delete(partial, recursive: true);
                }
                catch (IOException ex)
                {
                    Log.LogMessage(MessageImportance.Low, "Could not remove {0}: {1}", partial, ex.Message);
                }
            }
        }
    }
}
