using System.Text.Json;

namespace MoESdk.Cli.Tests;

public class ExportCommandTests
{
    private static string Checkpoint => MoeProcess.Data("tests", "MoESdk.Tests", "data", "llama2c", "rand-gqa-shared.bin");

    [Fact]
    public void ExportWritesAGgufFileAndRefusesToOverwriteIt()
    {
        string folder = Directory.CreateTempSubdirectory("moe-cli-export-").FullName;
        try
        {
            string output = Path.Combine(folder, "model.gguf");
            var (exit, stdout, stderr) = MoeProcess.Run("export", "--model", Checkpoint, "--format", "gguf", "--out", output, "--dtype", "q8_0", "--json");
            Assert.True(exit == 0, stderr);
            using JsonDocument report = JsonDocument.Parse(stdout);
            Assert.Equal(new FileInfo(output).Length, report.RootElement.GetProperty("bytes").GetInt64());
            Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(output)[..4]);

            (exit, _, stderr) = MoeProcess.Run("export", "--model", Checkpoint, "--format", "gguf", "--out", output);
            Assert.Equal(1, exit);
            Assert.Contains("already exists", stderr);
            Assert.Single(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ExportWritesAHuggingFaceFolderThatLoadsBack()
    {
        string folder = Directory.CreateTempSubdirectory("moe-cli-export-").FullName;
        try
        {
            string output = Path.Combine(folder, "hf");
            var (exit, stdout, stderr) = MoeProcess.Run("export", "--model", Checkpoint, "--format", "hf", "--out", output, "--dtype", "bf16", "--json");
            Assert.True(exit == 0, stderr);
            using JsonDocument report = JsonDocument.Parse(stdout);
            Assert.Equal(Directory.GetFiles(output).Sum(f => new FileInfo(f).Length), report.RootElement.GetProperty("bytes").GetInt64());
            using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json"))))
            {
                Assert.Equal("LlamaForCausalLM", config.RootElement.GetProperty("architectures")[0].GetString());
                Assert.Equal("bfloat16", config.RootElement.GetProperty("torch_dtype").GetString());
            }
            Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
            (exit, _, stderr) = MoeProcess.Run("inspect", "--model", output);
            Assert.True(exit == 0, stderr);

            (exit, _, stderr) = MoeProcess.Run("export", "--model", Checkpoint, "--format", "hf", "--out", Path.Combine(folder, "q8"), "--dtype", "q8_0");
            Assert.Equal(1, exit);
            Assert.Contains("q8_0 is a GGUF type", stderr);
            Assert.Equal([output], Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("--format", "onnx", "--format 'onnx' is not supported")]
    [InlineData("--dtype", "int4", "--dtype 'int4' is not supported")]
    public void UnknownFormatOrTypeIsOneClearLine(string option, string value, string message)
    {
        string output = Path.Combine(Path.GetTempPath(), $"moe-export-{Guid.NewGuid():N}.gguf");
        string[] args = option == "--format"
            ? ["export", "--model", Checkpoint, "--format", value, "--out", output]
            : ["export", "--model", Checkpoint, "--format", "gguf", "--out", output, "--dtype", value];
        var (exit, _, stderr) = MoeProcess.Run(args);
        Assert.Equal(1, exit);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(output));
    }
}
