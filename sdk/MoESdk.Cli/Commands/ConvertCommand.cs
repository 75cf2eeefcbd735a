using System.CommandLine;
using MoESdk.Artifacts;
using MoESdk.Conversion;
using MoESdk.Evaluation;
using MoESdk.Modules;
using Spectre.Console;
using static TorchSharp.torch;

namespace MoESdk.Cli.Commands;

/// <summary><c>moe convert</c>: dense model → Mixture-of-Experts artifact, with a quality and speed report unless told to measure less.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Artifact folder to write, e.g. kjv-llama.moe.", Required = true };
        var method = ChoiceOptions.Create<MoEMethod>("--method", "How the experts are made", Defaults.Method);
        var experts = new Option<int?>("--experts", "-e") { Description = $"Routed experts per layer (default: {ConversionOptions.DefaultSlices} slices of the FFN less the shared experts: {Defaults.Experts} for coact, {ConversionOptions.DefaultSlices} for the others)." };
        var expertsPerToken = new Option<int?>("--experts-per-token", "-k", DeprecatedTopK)
        {
            Description = $"Experts run per token (default: a quarter of the FFN, (experts + shared) / 4 - shared: {Defaults.ExpertsPerToken} of coact's {Defaults.Experts}, 2 of 8 experts without a shared one; 1 for tomoe). {DeprecatedTopK} is its deprecated name.",
        };
        var router = ChoiceOptions.Create<MoERouter>("--router", "The router of factor, cluster and coact (default: par for factor, else analytic; tomoe trains its own)");
        var shared = new Option<int?>("--shared-experts") { Description = "Always-on shared experts (default: 1 for coact, else 0)." };
        var budget = new Option<double?>("--budget") { Description = "tomoe: share of FFN parameters a token uses, in (0, 1] (default 0.25)." };
        var distill = new Option<bool>("--distill") { Description = "PAR training learns from the dense model (KL on logits + MSE to each FFN) instead of the calibration text." };
        var calibration = new Option<string>("--calibration") { Description = "Calibration text (UTF-8): activations and router training.", Required = true };
        var evaluation = new Option<string?>("--eval") { Description = "Held-out text for the dense-vs-MoE report (default: the calibration text)." };
        var steps = new Option<int?>("--steps") { Description = $"Training steps of par and tomoe, batch 4 × 128 tokens (default {ConversionOptions.DefaultTrainingSteps})." };
        var seed = new Option<int>("--seed") { Description = "Seed of everything random in the conversion.", DefaultValueFactory = _ => 0 };
        var name = new Option<string?>("--name") { Description = "Model name in the manifest (default: the output folder's name)." };
        var dtype = new Option<string>("--dtype") { Description = "Stored weight type: f32 or bf16.", DefaultValueFactory = _ => "f32" };
        var reportLevel = new Option<string>("--report") { Description = "What to measure after converting: none (the artifact alone), quality (dense-vs-MoE perplexity, KL, accuracy) or full (quality and decode/prefill speed).", DefaultValueFactory = _ => "full" };
        var command = new Command("convert", "Convert a dense model into a Mixture-of-Experts artifact and report its quality and speed against the dense model.")
        {
            CommonOptions.Model, output, method, experts, expertsPerToken, router, shared, budget, distill, calibration, evaluation, steps, seed, name, dtype, reportLevel,
        };
        // A ConversionOptions error names each option by the flag that sets it; the MSBuild task maps the flags it passes to its item metadata.
        var flags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [nameof(ConversionOptions.Method)] = method.Name,
            [nameof(ConversionOptions.Experts)] = experts.Name,
            [nameof(ConversionOptions.ExpertsPerToken)] = expertsPerToken.Name,
            [nameof(ConversionOptions.Router)] = router.Name,
            [nameof(ConversionOptions.SharedExperts)] = shared.Name,
            [nameof(ConversionOptions.Budget)] = budget.Name,
            [nameof(ConversionOptions.Distill)] = distill.Name,
            [nameof(ConversionOptions.Steps)] = steps.Name,
            [nameof(ConversionOptions.Seed)] = seed.Name,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string modelPath = result.GetValue(CommonOptions.Model)!;
            string outPath = result.GetValue(output)!.TrimEnd('/', '\\');
            string calibrationPath = result.GetValue(calibration)!;
            string evalPath = result.GetValue(evaluation) ?? calibrationPath;
            MoEMethod methodChosen = result.GetValue(method) ?? Defaults.Method;
            if (result.GetResult(expertsPerToken)?.IdentifierToken?.Value == DeprecatedTopK)
            {
                Console.Error.WriteLine($"warning: {DeprecatedTopK} is deprecated: use {expertsPerToken.Name} (experts run per token; the sampler's top-k of generate is another setting).");
            }
            var options = new ConversionOptions
            {
                Method = methodChosen,
                Router = result.GetValue(router),
                SharedExperts = result.GetValue(shared),
                Budget = result.GetValue(budget),
                Distill = result.GetValue(distill),
                Steps = result.GetValue(steps),
                Seed = result.GetValue(seed),
            };
            // Left unset, the counts follow the method and each other (ConversionOptions' defaults).
            if (result.GetValue(experts) is int routed)
            {
                options = options with { Experts = routed };
            }
            if (result.GetValue(expertsPerToken) is int perToken)
            {
                options = options with { ExpertsPerToken = perToken };
            }
            ScalarType storeAs = result.GetValue(dtype) switch
            {
                "f32" => ScalarType.Float32,
                "bf16" => ScalarType.BFloat16,
                var other => throw new ArgumentException($"--dtype must be f32 or bf16, was '{other}'."),
            };
            ReportLevel measures = result.GetValue(reportLevel) switch
            {
                "none" => ReportLevel.None,
                "quality" => ReportLevel.Quality,
                "full" => ReportLevel.Full,
                var other => throw new ArgumentException($"--report must be none, quality or full, was '{other}'."),
            };
            foreach (string text in measures == ReportLevel.None ? [calibrationPath] : new[] { calibrationPath, evalPath })
            {
                if (!File.Exists(text))
                {
                    throw new CalibrationTextException($"Text file '{text}' does not exist.");
                }
            }

            // Checked now, not after minutes of conversion: the output location must take an artifact.
            new ArtifactDestination(outPath).Check();

            using LanguageModel dense = LanguageModel.Open(modelPath, CommonOptions.LoadOptions(result));
            options.Validate(dense.Model.Config);
            var tokenizer = dense.RequireTokenizer();
            string calibrationText = CalibrationText.Decode(File.ReadAllBytes(calibrationPath));
            IReadOnlyList<int> calibrationTokens = tokenizer.Encode(calibrationText, addBos: false);
            if (calibrationTokens.Count <= options.WindowLength)
            {
                throw new CalibrationTextException($"The calibration text '{calibrationPath}' has {calibrationTokens.Count} tokens; at least {options.WindowLength + 1} are needed: pass a longer --calibration text.");
            }
            if (CalibrationText.Measure(calibrationText, calibrationTokens, tokenizer).Warning(calibrationPath) is { } warning)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }
            IReadOnlyList<int> evalTokens = measures == ReportLevel.None || evalPath == calibrationPath
                ? calibrationTokens : tokenizer.Encode(File.ReadAllText(evalPath), addBos: false);

            ConversionResult conversion = null!;
            ComparisonResult? quality = null;
            IReadOnlyList<SpeedResult>? speed = null;
            void Work(IStageProgress stages)
            {
                conversion = MoEConverter.Convert(dense.Model, options, calibrationTokens,
                    new SynchronousProgress<ConversionProgress>(p => stages.Report(p.Stage, p.Done, p.Total, p.Detail)), cancellationToken);
                if (measures == ReportLevel.None)
                {
                    return;
                }
                quality = ConversionMeasurement.Quality(dense.Model, conversion.Model, evalTokens, stages, cancellationToken);
                if (measures != ReportLevel.Full)
                {
                    return;
                }
                speed = ConversionMeasurement.Speed(dense.Model, conversion.Model, repetitions: 3, stages, cancellationToken);
            }
            if (result.GetValue(CommonOptions.MSBuild))
            {
                Work(new ProgressLineStages(Console.Error));
            }
            else
            {
                CommandRunner.Status.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(context => Work(new ProgressBarStages(context)));
            }

            using LlamaModel moe = conversion.Model;
            // Only what was measured goes into the manifest, and no timing unless a report was asked for: two conversions of
            // the same inputs without a report write byte-identical artifacts.
            var manifest = MoEManifest.ForConversion(result.GetValue(name) ?? Path.GetFileNameWithoutExtension(outPath),
                SourceModel.Of(modelPath), dense.Model, conversion, ConversionChoice.Name(options.Method),
                ConversionReport.Of(conversion, quality, speed, evalPath));
            double activeRatio = manifest.ActiveFeedForwardRatio;
            manifest = MoEArtifact.Save(outPath, moe, manifest, modelPath, storeAs);

            var report = new ConvertReport(Path.GetFullPath(outPath), ConversionChoice.Name(options.Method), conversion.Partition, conversion.Router, options.Experts, options.ExpertsPerToken,
                options.SharedExpertCount, options.TrainingSteps, options.Seed, options.Method == MoEMethod.ToMoE ? options.ActiveBudget : null, options.Distill, activeRatio,
                quality?.Reference.Perplexity, quality?.Candidate.Perplexity, quality?.PerplexityRatio,
                quality?.MeanKlDivergence, quality?.Reference.TopOneAccuracy, quality?.Candidate.TopOneAccuracy, quality?.AccuracyKept,
                speed?[0].DecodeTokensPerSecond, speed?[1].DecodeTokensPerSecond, manifest.Report!.DecodeSpeedup,
                speed?[0].PrefillTokensPerSecond, speed?[1].PrefillTokensPerSecond, manifest.Report.PrefillSpeedup,
                conversion.CalibrationTokens, conversion.Duration.TotalSeconds);
            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
                return Task.FromResult(0);
            }
            CommandRunner.Status.MarkupLine($"[grey]{report.Method}: {conversion.Partition} partition, {conversion.Router} router, {options.Experts} experts, top-{options.ExpertsPerToken}" +
                $"{(options.SharedExpertCount > 0 ? $", {options.SharedExpertCount} shared" : "")}{(options.Trains ? $", {options.TrainingSteps} training steps" : "")}" +
                $", {conversion.CalibrationTokens:N0} calibration tokens, {conversion.Duration.TotalSeconds:F1} s[/]");
            var table = new Table().AddColumns("", "dense", "MoE", "ratio");
            if (quality is not null)
            {
                table.AddRow("perplexity", $"{report.DensePerplexity:F3}", $"{report.MoEPerplexity:F3}", $"{report.PerplexityRatio:F3}");
                table.AddRow("mean KL (nats/token)", "", $"{report.MeanKlDivergence:F4}", "");
                table.AddRow("next-token top-1 accuracy", $"{report.DenseTopOneAccuracy:P1}", $"{report.MoETopOneAccuracy:P1}", $"{report.AccuracyKept:P1} kept");
            }
            table.AddRow("active FFN ratio", "100 %", $"{activeRatio:P1}", "");
            if (speed is not null)
            {
                table.AddRow("decode tokens/s", $"{report.DenseDecodeTokensPerSecond:F1}", $"{report.MoEDecodeTokensPerSecond:F1}", $"{report.DecodeSpeedup:F2}×");
                table.AddRow("prefill tokens/s", $"{report.DensePrefillTokensPerSecond:F0}", $"{report.MoEPrefillTokensPerSecond:F0}", $"{report.PrefillSpeedup:F2}×");
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(report.Artifact)}");
            return Task.FromResult(0);
        }, option => flags.TryGetValue(option, out string? flag) ? flag : ConversionOptionException.LibraryName(option));
        return command;
    }

    private static readonly ConversionOptions Defaults = new();

    /// <summary>The old name of <c>--experts-per-token</c>, still accepted (with a warning): "top-k" also names the sampler's vocabulary top-k.</summary>
    private const string DeprecatedTopK = "--top-k";

    /// <summary>How much <c>moe convert</c> measures after converting (<c>--report</c>).</summary>
    private enum ReportLevel
    {
        /// <summary>Nothing: the artifact alone, as builds want it (no evaluation, no benchmark, no timing in the manifest).</summary>
        None,

        /// <summary>Dense-vs-MoE perplexity, KL and top-1 accuracy on the evaluation text.</summary>
        Quality,

        /// <summary>Quality, and decode/prefill speed of both models.</summary>
        Full,
    }

    /// <summary>The JSON fields of <c>moe convert --json</c>; quality fields are null with <c>--report none</c>, speed fields unless <c>--report full</c>.</summary>
    public sealed record ConvertReport(string Artifact, string Method, string Partition, string Router, int Experts, int ExpertsPerToken, int SharedExperts,
        int Steps, int Seed, double? Budget, bool Distill, double ActiveFeedForwardRatio, double? DensePerplexity, double? MoEPerplexity, double? PerplexityRatio, double? MeanKlDivergence,
        double? DenseTopOneAccuracy, double? MoETopOneAccuracy, double? AccuracyKept,
        double? DenseDecodeTokensPerSecond, double? MoEDecodeTokensPerSecond, double? DecodeSpeedup,
        double? DensePrefillTokensPerSecond, double? MoEPrefillTokensPerSecond, double? PrefillSpeedup,
        long CalibrationTokens, double ConversionSeconds);
}
