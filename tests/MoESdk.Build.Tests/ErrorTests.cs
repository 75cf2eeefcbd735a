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
        { "MOE1004", "truncated weights" },
        { "MOE1005", "missing calibration text" },
        { "MOE1006", "converter rejects its arguments" },
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
        Consumer app = Consumer.Create(sdk, folder, "");
        switch (problem)
        {
            case "missing model folder":
                spec = "models/missing";
                break;
            case "folder without config.json":
                TinyModel.Write(app.PathOf("models/tiny"));
                File.Delete(app.PathOf("models/tiny/config.json"));
                break;
            case "TopK above Experts":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Experts="4" TopK="5" """;
                break;
            case "FFN width not divisible by Experts":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Experts="3" TopK="1" """;
                break;
            case "truncated weights":
                TinyModel.Write(app.PathOf("models/tiny"));
                string weights = app.PathOf("models/tiny/model.safetensors");
                byte[] bytes = File.ReadAllBytes(weights);
                File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
                break;
            case "missing calibration text":
                TinyModel.Write(app.PathOf("models/tiny"));
                metadata = """Calibration="data/missing.txt" """;
                break;
            case "converter rejects its arguments":
                TinyModel.Write(app.PathOf("models/tiny"));
                properties = "<MoEConverterArguments>--no-such-option</MoEConverterArguments>";
                break;
            case "converter missing":
                TinyModel.Write(app.PathOf("models/tiny"));
                properties = "<MoEConverterPath>no/such/moe.dll</MoEConverterPath>";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(problem), problem, "no such case");
        }
        app.WriteProject($"""<MoEModel Include="{spec}" {metadata}/>""", properties);

        DotNetResult build = app.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains($"error {code}: MoEModel '{spec}':", build.Output);
        Assert.False(Directory.Exists(app.PathOf("obj/Debug/net10.0/moe/tiny.moe")), "a failed conversion left an artifact");
        Assert.Empty(Directory.Exists(app.PathOf("obj/Debug/net10.0/moe"))
            ? Directory.GetDirectories(app.PathOf("obj/Debug/net10.0/moe"), "*.partial-*")
            : []);
    }
}
