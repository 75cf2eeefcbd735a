using System.Reflection;
using System.Text.RegularExpressions;

namespace MoESdk.Tests.Inference;

/// <summary>
/// The TorchSharp inference path makes every tensor on the device of the model's weights, never on a fixed CPU
/// device, so that it can run where a CUDA libtorch is referenced. No GPU and no CUDA libtorch exist here, and
/// libtorch's meta device (shapes without data) lacks kernels this path needs (index_select, where), so the
/// property is checked on the source: every tensor factory call in the files of that path names its device.
/// </summary>
[Trait("Category", "Unit")]
public partial class DeviceCleanTests
{
    // The modules' forward passes, the generation session, the evaluators and serving's scoring. Conversion and
    // training run on the CPU by design and are not listed; the CPU kernels are CPU by definition.
    private static readonly string[] InferencePath =
    [
        "Modules", "Inference/InferenceSession.cs", "Evaluation/ModelEvaluator.cs", "Evaluation/RoutingProfile.cs", "Serving/MoEModel.cs",
    ];

    [Fact]
    public void EveryTensorOnTheInferencePathIsMadeOnTheModelsDevice()
    {
        string root = typeof(DeviceCleanTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RuntimeSources").Value!;
        var files = InferencePath
            .SelectMany(p => Directory.Exists(Path.Combine(root, p))
                ? Directory.GetFiles(Path.Combine(root, p), "*.cs")
                : [Path.Combine(root, p)])
            .ToArray();
        Assert.True(files.Length > 5 && files.All(File.Exists), $"runtime sources not found under {root}");

        var offenders = files
            .SelectMany(f => CallsWithoutDevice(File.ReadAllText(f)).Select(call => $"{Path.GetFileName(f)}: {call}"))
            .ToList();

        Assert.True(offenders.Count == 0, "tensors made without a device:\n" + string.Join("\n", offenders));
    }

    [Theory]
    [InlineData("Tensor ids = tensor(tokens, [1, n]);", 1)]
    [InlineData("Tensor ids = tensor(tokens, [1, n], device: model.Device);", 0)]
    [InlineData("Tensor m = arange(start, start + tokens).unsqueeze(1);", 1)]
    [InlineData("Tensor z = zeros_like(x) + torch.zeros(f(a, b), dtype: t);", 1)]
    [InlineData("Tensor z = zeros([p, h], dtype: d, device: _device);", 0)]
    public void TheCheckFindsFactoryCallsWithoutADevice(string code, int expected) =>
        Assert.Equal(expected, CallsWithoutDevice(code).Count());

    private static IEnumerable<string> CallsWithoutDevice(string source)
    {
        foreach (Match m in Factory().Matches(source))
        {
            int depth = 0, end = m.Index + m.Length - 1;
            for (; end < source.Length; end++)
            {
                depth += source[end] switch { '(' => 1, ')' => -1, _ => 0 };
                if (depth == 0)
                {
                    break;
                }
            }
            string call = source[m.Index..Math.Min(end + 1, source.Length)];
            if (!call.Contains("device:", StringComparison.Ordinal))
            {
                yield return call;
            }
        }
    }

    // TorchSharp's factories (torch.tensor, zeros, ones, full, empty, arange, randn, rand, eye, linspace); the
    // *_like forms follow their argument's device and are not matched.
    [GeneratedRegex(@"(?<![\w.])(?:torch\.)?(?:tensor|zeros|ones|full|empty|arange|randn|rand|eye|linspace)\(")]
    private static partial Regex Factory();
}
