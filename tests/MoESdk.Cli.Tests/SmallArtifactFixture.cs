namespace MoESdk.Cli.Tests;

/// <summary>
/// A tiny dense model made with <c>moe pretrain</c> (two steps: near-random weights, a real tokenizer) and its
/// 4-expert top-2 conversion made with <c>moe convert</c>, in a temp folder shared by a test class and
/// deleted at the end. Tests write their outputs beside them, never into them.
/// </summary>
public sealed class SmallArtifactFixture : IDisposable
{
    public SmallArtifactFixture()
    {
        Directory.CreateDirectory(Folder);
        string data = MoeProcess.Data("models", "kjv-llama", "data");
        File.WriteAllText(TrainText, File.ReadAllText(Path.Combine(data, "calibration.txt"))[..30_000]);
        File.WriteAllText(GeneralText, File.ReadAllText(Path.Combine(data, "heldout.txt"))[..20_000]);
        File.WriteAllText(DomainText, File.ReadAllText(Path.Combine(data, "new-testament.txt"))[..30_000]);
        Require(MoeProcess.Run("pretrain", "--data", TrainText, "--validation", GeneralText, "--out", DensePath, "--vocab-size", "300", "--hidden", "32",
            "--layers", "2", "--heads", "2", "--kv-heads", "1", "--ffn", "64", "--context", "128", "--steps", "2", "--batch", "2", "--seq", "32",
            "--warmup", "1", "--dtype", "f32"));
        Require(MoeProcess.Run("convert", "--model", DensePath, "--out", ArtifactPath, "--method", "factor", "--experts", "4", "--experts-per-token", "2", "--calibration", TrainText));
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "moe-cli-tests-" + Guid.NewGuid().ToString("N"));

    public string DensePath => Path.Combine(Folder, "dense");

    public string ArtifactPath => Path.Combine(Folder, "small.moe");

    public string TrainText => Path.Combine(Folder, "train.txt");

    public string GeneralText => Path.Combine(Folder, "general.txt");

    public string DomainText => Path.Combine(Folder, "domain.txt");

    /// <summary>A fresh path in the fixture's folder.</summary>
    public string NewPath(string suffix) => Path.Combine(Folder, Guid.NewGuid().ToString("N") + suffix);

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static void Require((int ExitCode, string Stdout, string Stderr) run)
    {
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"Making the test model failed ({run.ExitCode}): {run.Stderr}");
        }
    }
}
