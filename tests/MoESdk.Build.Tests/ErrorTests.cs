namespace MoESdk.Build.Tests;

/// <summary>Each way a MoEModel item can be wrong fails the build with its code and names the item.</summary>
[Collection(ConsumerBuilds.Name)]
public sealed class ErrorTests(PackedSdk sdk)
{
    public static TheoryData<string, string> Cases => new()
    {
        { "MOE1001", "missing model folder" },
        { "MOE1002", "folder without config.json" },
        { "MOE1003", "TopK above Experts" },
        { "MOE1003", "FFN width not divisible by Experts" },
        { "MOE1003", "tomoe with two experts per token" },
        { "MOE1003", "DType not a stored weight type" },
        { "MOE1004", "truncated weights" },
        { "MOE1005", "missing calibration text" },
        { "MOE1003", "converter rejects its arguments" },
        { "MOE1007", "converter missing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadItemFailsWithItsCodeNamingTheItem(string code, string problem)
    {
        string folder = $"error-{code}-{problem.Replace(' ', '-')}";
        string spec = "models/tiny";
        string metadata = "";
        string properties = "";
        string detail;
        Consumer app = Consumer.Create(sdk, folder, "");
        switch (problem)
        {
            case "missing model folder":
                spec = "models/missing";
                detail = "does not exist";
                break;
            case "folder without config.json":
                TinyModel.Write(app.PathOf("models/tiny"));
                File.Delete(app.PathOf("models/tiny/config.json"));
                detail = "it has no config.json";
                break;
            case "TopK above Experts":
                // TopK, the old name of ExpertsPerToken, is still read (with warning MOE1011) and named as the item wrote it.
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Experts="4" TopK="5" """;
                detail = "TopK='5' is not valid";
                break;
            case "FFN width not divisible by Experts":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Experts="3" ExpertsPerToken="1" Method="factor" """;
                detail = "does not divide into 3 equal experts";
                break;
            case "tomoe with two experts per token":
                // Found by the converter: its message names the flag, the task the item's metadata.
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Method="tomoe" ExpertsPerToken="2" """;
                detail = "tomoe routes each token to exactly one expert: set ExpertsPerToken to 1 (was 2).";
                break;
            case "DType not a stored weight type":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """DType="int4" """;
                detail = "DType='int4' is not valid: use one of f32, bf16";
                break;
            case "truncated weights":
                TinyModel.Write(app.PathOf("models/tiny"));
                string weights = app.PathOf("models/tiny/model.safetensors");
                byte[] bytes = File.ReadAllBytes(weights);
                File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
                detail = "model.safetensors";
                break;
            case "missing calibration text":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Calibration="data/missing.txt" """;
                detail = "data/missing.txt' does not exist";
                break;
            case "converter rejects its arguments":
                TinyModel.Write(app.PathOf("models/tiny"));
                properties = "<MoEConverterArguments>--no-such-option</MoEConverterArguments>";
                detail = "Unrecognized command or argument '--no-such-option'";
                break;
            case "converter missing":
                TinyModel.Write(app.PathOf("models/tiny"));
                properties = "<MoEConverterPath>no/such/moe.dll</MoEConverterPath>";
                detail = "no/such/moe.dll' does not exist";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(problem), problem, "no such case");
        }
        app.WriteProject($"""<MoEModel Include="{spec}" {metadata}/>""", properties);

        DotNetResult build = app.Build();

        Assert.NotEqual(0, build.ExitCode);
        string error = build.Output.Split('\n').FirstOrDefault(line => line.Contains($"error {code}: MoEModel '{spec}':", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no {code} error naming '{spec}':{Environment.NewLine}{build.Output}");
        Assert.Contains("Consumer.csproj : error", error);
        Assert.Contains(detail, error);
        Assert.False(Directory.Exists(app.PathOf("obj/Debug/net10.0/moe/tiny.moe")), "a failed conversion left an artifact");
        Assert.Empty(Directory.Exists(app.PathOf("obj/Debug/net10.0/moe"))
            ? Directory.GetDirectories(app.PathOf("obj/Debug/net10.0/moe"), "*.partial-*")
            : []);
    }
}
