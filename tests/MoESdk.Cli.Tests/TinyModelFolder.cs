using System.Buffers.Binary;
using System.Text.Json.Nodes;
using MoESdk.Testing;

namespace MoESdk.Cli.Tests;

/// <summary>A temp folder holding <see cref="TinyModel"/> copies to damage, deleted with the test class.</summary>
public sealed class TinyModelFolder : IDisposable
{
    public TinyModelFolder()
    {
        TinyModel.Write(Model);
        File.WriteAllText(EvalText, File.ReadAllText(Path.Combine(Model, "data", "calibration.txt"))[..6_000]);
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("moe-hostile-").FullName;

    /// <summary>The undamaged tiny model.</summary>
    public string Model => Path.Combine(Folder, "tiny");

    public string Calibration => Path.Combine(Model, "data", "calibration.txt");

    /// <summary>A short held-out text, so that a conversion's report takes little time.</summary>
    public string EvalText => Path.Combine(Folder, "eval.txt");

    /// <summary>A fresh path in the folder.</summary>
    public string NewPath(string suffix = "") => Path.Combine(Folder, Guid.NewGuid().ToString("N") + suffix);

    /// <summary>A copy of the tiny model with config.json edited.</summary>
    public string WithConfig(Action<JsonObject> edit)
    {
        string copy = Copy();
        string config = Path.Combine(copy, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        edit(json);
        File.WriteAllText(config, json.ToJsonString());
        return copy;
    }

    /// <summary>A copy of the tiny model whose first weight (of the embedding) is <paramref name="value"/>.</summary>
    public string WithFirstWeight(float value)
    {
        string copy = Copy();
        string weights = Path.Combine(copy, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(weights);
        long dataStart = 8 + BinaryPrimitives.ReadInt64LittleEndian(bytes);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)dataStart), value);
        File.WriteAllBytes(weights, bytes);
        return copy;
    }

    /// <summary>The moe convert arguments of a quick conversion of <paramref name="model"/> to <paramref name="output"/>.</summary>
    public string[] Convert(string model, string output, string? calibration = null) =>
        ["convert", "--model", model, "--out", output, "--calibration", calibration ?? Calibration, "--eval", EvalText, "--method", "factor", "--experts", "4", "--experts-per-token", "2", "--router", "analytic"];

    private string Copy()
    {
        string copy = NewPath();
        Directory.CreateDirectory(Path.Combine(copy, "data"));
        foreach (string file in Directory.EnumerateFiles(Model, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(copy, Path.GetRelativePath(Model, file)));
        }
        return copy;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
