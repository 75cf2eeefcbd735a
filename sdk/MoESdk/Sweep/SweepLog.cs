using System.Security.Cryptography;
using System.Text.Json;
using MoESdk.Loading;

namespace MoESdk.Sweep;

/// <summary>What a sweep measures on: the model, the texts (by content hash) and the seed.</summary>
internal sealed record SweepInputs(string Model, string ModelSha256, string CalibrationSha256, string EvaluationSha256, int Seed)
{
    public static SweepInputs Of(string model, string calibration, string evaluation, int seed) =>
        new(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model))), Artifacts.SourceModel.Of(model).Sha256,
            Sha256(calibration), Sha256(evaluation), seed);

    private static string Sha256(string file)
    {
        using FileStream stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>
/// The sweep's results file (<c>sweep.json</c>), rewritten whole after every recipe (to a temporary file, then renamed),
/// so a sweep that is stopped keeps every recipe it finished and a rerun measures only the rest.
/// </summary>
internal sealed class SweepLog
{
    public const string FileName = "sweep.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly List<SweepPoint> _points;

    private SweepLog(string path, SweepInputs inputs, List<SweepPoint> points)
    {
        Path = path;
        Inputs = inputs;
        _points = points;
    }

    public string Path { get; }

    public SweepInputs Inputs { get; }

    public IReadOnlyList<SweepPoint> Points => _points;

    /// <summary>The log in <paramref name="folder"/>, or a new one; a log of other inputs is refused (its points would not compare).</summary>
    public static SweepLog Open(string folder, SweepInputs inputs)
    {
        string path = System.IO.Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return new SweepLog(path, inputs, []);
        }
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a sweep log ({ex.Message}); delete it or choose another folder.");
        }
        if (document?.Inputs is null || document.Points is null)
        {
            throw new InvalidDataException($"{path} is not a sweep log; delete it or choose another folder.");
        }
        if (document.Inputs != inputs)
        {
            throw new InvalidOperationException(
                $"{path} holds a sweep of other inputs (model, texts or seed differ: its points would not compare with new ones); choose another folder or delete it.");
        }
        return new SweepLog(path, inputs, [.. document.Points]);
    }

    public bool Contains(SweepRecipe recipe) => _points.Any(p => p.Recipe == recipe.Flags);

    public void Add(SweepPoint point)
    {
        _points.Add(point);
        string text = JsonSerializer.Serialize(new Document(Inputs, _points), Json);
        AtomicFile.Write(Path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    private sealed record Document(SweepInputs Inputs, IReadOnlyList<SweepPoint> Points);
}
