namespace MoESdk.Cli.Tests;

/// <summary>With --msbuild, convert prints user errors in MSBuild's format with the code the build task reports.</summary>
public class MSBuildErrorTests
{
    private static string Calibration => MoeProcess.Data("models", "kjv-llama", "data", "calibration.txt");

    [Fact]
    public void MissingCalibrationTextIsMoe1005()
    {
        string output = Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.moe");
        var (exit, _, stderr) = MoeProcess.Run("convert", "--model", "/no/such/model", "--out", output, "--calibration", "/no/such/text.txt", "--msbuild");

        Assert.Equal(1, exit);
        Assert.StartsWith("error MOE1005: ", stderr);
        Assert.Contains("/no/such/text.txt", stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void FolderWithoutConfigIsMoe1002()
    {
        string folder = Directory.CreateTempSubdirectory("no-config-").FullName;
        try
        {
            var (exit, _, stderr) = MoeProcess.Run("convert", "--model", folder, "--out", Path.Combine(folder, "x.moe"), "--calibration", Calibration, "--msbuild");

            Assert.Equal(1, exit);
            Assert.StartsWith("error MOE1002: ", stderr);
            Assert.Contains("config.json", stderr);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void WithoutTheFlagErrorsKeepTheirPlainForm()
    {
        var (exit, _, stderr) = MoeProcess.Run("convert", "--model", "/no/such/model", "--out", "x.moe", "--calibration", "/no/such/text.txt");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", stderr);
    }
}
