using System.Collections;
using Microsoft.Build.Framework;

namespace MoESdk.Build.Tests;

/// <summary>
/// The ConvertMoEModel task in process, with a stand-in converter (a shell script that records its arguments and prints
/// one error line as <c>moe convert --msbuild</c> does): the deprecated <c>TopK</c> metadata, and converter errors worded
/// in the item's metadata. The real converter's side of the wording is covered by the CLI's tests and by ErrorTests.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ConvertMoEModelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("moe-task-").FullName;

    [Fact]
    public void TopKStillSetsTheExpertsPerTokenWithADeprecationWarningThatLinksToItsHelp()
    {
        (ConvertMoEModel task, RecordingEngine engine) = Task(topK: "3", converterError: "tomoe routes each token to exactly one expert: set --experts-per-token to 1 (was 3).");

        Assert.False(task.Execute());

        BuildWarningEventArgs warning = Assert.Single(engine.Warnings);
        Assert.Equal("MOE1011", warning.Code);
        Assert.Equal("https://github.com/moesdk/moesdk/blob/main/msbuild/MoESdk.Build/README.md#MOE1011", warning.HelpLink);
        Assert.Contains("TopK metadata is deprecated: rename it to ExpertsPerToken", warning.Message, StringComparison.Ordinal);
        Assert.Contains("--experts-per-token 3 ", ConverterArguments(), StringComparison.Ordinal);
        Assert.DoesNotContain("--top-k", ConverterArguments(), StringComparison.Ordinal);
        // The converter's flag comes back as the metadata the item wrote.
        BuildErrorEventArgs error = Assert.Single(engine.Errors);
        Assert.Equal("MOE1003", error.Code);
        Assert.Equal("MoEModel 'models/tiny': tomoe routes each token to exactly one expert: set TopK to 1 (was 3).", error.Message);
    }

    [Fact]
    public void ConverterErrorsNameTheItemMetadataAndLeaveTheFlagsOfConverterArguments()
    {
        (ConvertMoEModel task, RecordingEngine engine) = Task(expertsPerToken: "3",
            converterError: "--budget applies to tomoe only; factor's active share is set by --experts-per-token over --experts.");
        task.ConverterArguments = "--budget 0.5";

        Assert.False(task.Execute());

        Assert.Empty(engine.Warnings);
        Assert.Contains("--experts 4 --experts-per-token 3 --method factor ", ConverterArguments(), StringComparison.Ordinal);
        Assert.Equal("MoEModel 'models/tiny': --budget applies to tomoe only; factor's active share is set by ExpertsPerToken over Experts.",
            Assert.Single(engine.Errors).Message);
    }

    [Theory]
    [InlineData("", "5", "ExpertsPerToken='5' is not valid: use a whole number of experts run per token, from 1 to Experts (4).")]
    [InlineData("5", "2", "TopK='5' is not valid: use a whole number of experts run per token, from 1 to Experts (4).")]
    public void ExpertsPerTokenAboveExpertsFailsBeforeTheConverterRunsNamingTheMetadataUsed(string topK, string expertsPerToken, string message)
    {
        (ConvertMoEModel task, RecordingEngine engine) = Task(topK: topK, expertsPerToken: expertsPerToken, converterError: "unused");

        Assert.False(task.Execute());

        BuildErrorEventArgs error = Assert.Single(engine.Errors);
        Assert.Equal("MOE1003", error.Code);
        Assert.Equal("MoEModel 'models/tiny': " + message, error.Message);
        Assert.False(File.Exists(Path.Combine(_root, "arguments.txt")), "the converter ran");
    }

    [Fact]
    public void AnUnknownMethodListsTheLibrarysMethods()
    {
        (ConvertMoEModel task, RecordingEngine engine) = Task(converterError: "unused");
        task.Method = "mixtral";

        Assert.False(task.Execute());

        Assert.Equal("MoEModel 'models/tiny': Method='mixtral' is not valid: use one of factor, cluster, coact, tomoe.", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void OnlyTheFlagsTheTaskPassedBecomeMetadata()
    {
        (string, string)[] switches = [("--experts", "Experts"), ("--experts-per-token", "ExpertsPerToken")];

        Assert.Equal("set ExpertsPerToken to 1; Experts, --experts-x and --seed stay; not-a--experts flag",
            ConverterVocabulary.InMetadata("set --experts-per-token to 1; --experts, --experts-x and --seed stay; not-a--experts flag", switches));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string ConverterArguments() => File.ReadAllText(Path.Combine(_root, "arguments.txt"));

    /// <summary>The task for a model folder with config.json and calibration text, run by a script that fails with <paramref name="converterError"/>.</summary>
    private (ConvertMoEModel Task, RecordingEngine Engine) Task(string converterError, string topK = "", string expertsPerToken = "2")
    {
        string model = Directory.CreateDirectory(Path.Combine(_root, "models", "tiny")).FullName;
        File.WriteAllText(Path.Combine(model, "config.json"), "{}");
        string calibration = Path.Combine(_root, "calibration.txt");
        File.WriteAllText(calibration, "In the beginning.");
        string converter = Path.Combine(_root, "moe");
        string output = Path.Combine(_root, "converter-output.txt");
        File.WriteAllText(output, $"error MOE1003: {converterError}\n");
        File.WriteAllText(converter, $"#!/bin/sh\necho \"$@\" > '{Path.Combine(_root, "arguments.txt")}'\ncat '{output}' >&2\nexit 1\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(converter, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var engine = new RecordingEngine();
        var task = new ConvertMoEModel
        {
            BuildEngine = engine,
            ItemSpec = "models/tiny",
            ProjectFile = Path.Combine(_root, "App.csproj"),
            ModelPath = model + "/",
            ArtifactPath = Path.Combine(_root, "obj", "tiny.moe") + "/",
            CacheDirectory = Path.Combine(_root, "cache"),
            KeyFile = Path.Combine(_root, "obj", "tiny.key"),
            Experts = "4",
            ExpertsPerToken = expertsPerToken,
            TopK = topK,
            Method = "factor",
            Calibration = calibration,
            ConverterPath = converter,
        };
        return (task, engine);
    }

    /// <summary>Collects what the task logs, as MSBuild's loggers would receive it.</summary>
    private sealed class RecordingEngine : IBuildEngine
    {
        public List<BuildErrorEventArgs> Errors { get; } = [];

        public List<BuildWarningEventArgs> Warnings { get; } = [];

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "App.csproj";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
            throw new NotSupportedException();

        public void LogCustomEvent(CustomBuildEventArgs e)
        {
        }

        public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
        }

        public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);
    }
}
