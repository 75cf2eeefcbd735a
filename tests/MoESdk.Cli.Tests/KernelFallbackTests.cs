using System.Text.Json;

namespace MoESdk.Cli.Tests;

/// <summary>
/// The decode kernels' fallbacks for CPUs without AVX-512 (Vector256/AVX2) or without any vector instructions (scalar),
/// in every precision: the runtime is told to leave those instructions out, and the reference model's perplexity through
/// the decode path (<c>moe eval --dtype</c>, one token at a time) must match the AVX-512 kernels' to within the summation
/// order's rounding. A fallback that reads a layout wrongly moves perplexity by whole percents.
/// </summary>
public class KernelFallbackTests
{
    private static readonly string[] Precisions = ["f32", "bf16", "int8", "int4"];

    [Theory]
    [InlineData("DOTNET_EnableAVX512")]
    [InlineData("DOTNET_EnableAVX512", "DOTNET_EnableAVX2")]
    [InlineData("DOTNET_EnableHWIntrinsic")]
    public void KernelsWithoutAvx512ScoreAsTheAvx512Kernels(params string[] disabled)
    {
        double[] fastest = Perplexities(new Dictionary<string, string>());
        double[] fallback = Perplexities(disabled.ToDictionary(name => name, _ => "0"));

        for (int i = 0; i < Precisions.Length; i++)
        {
            Assert.True(Math.Abs((fallback[i] / fastest[i]) - 1) < 1e-5, $"{Precisions[i]}: {fallback[i]} without {string.Join(", ", disabled)}, {fastest[i]} with them");
        }
        // Other kernels ran (another summation order), not the same ones under a setting the runtime ignored.
        Assert.NotEqual(fastest[0], fallback[0]);
    }

    private static double[] Perplexities(Dictionary<string, string> environment)
    {
        string[] args = ["eval", "--model", MoeProcess.Data("models", "kjv-llama"), "--text", MoeProcess.Data("models", "kjv-llama", "data", "heldout.txt"),
            "--max-windows", "2", "--dtype", .. Precisions, "--json"];
        var (exit, stdout, stderr) = MoeProcess.RunWith(environment, args);
        Assert.True(exit == 0, stderr);
        using JsonDocument result = JsonDocument.Parse(stdout);
        return [.. result.RootElement.GetProperty("precisions").EnumerateArray().Select(p => p.GetProperty("perplexity").GetDouble())];
    }
}
