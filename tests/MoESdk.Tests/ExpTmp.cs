using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
namespace MoESdk.Tests;
public sealed class ExpTmp(ITestOutputHelper output)
{
    [Fact]
    public void Bf16Forward()
    {
        string kjv = Path.Combine(AppContext.BaseDirectory, "kjv-llama");
        using LanguageModel m = LanguageModel.Open(kjv);
        var ids = m.RequireTokenizer().Encode("And God said unto Moses, Go", addBos: false);
        using var inf = inference_mode();
        using var t = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
        float[] f32 = m.Model.Forward(t, 0, null, true).to_type(ScalarType.Float32).flatten().data<float>().ToArray();
        var loaded = global::MoESdk.Loading.ModelLoader.Load(kjv);
        var dict = (Dictionary<string, Tensor>)loaded.Weights.Tensors;
        foreach (var k in dict.Keys.ToList()) { var old = dict[k]; dict[k] = old.to_type(ScalarType.BFloat16).DetachFromDisposeScope(); old.Dispose(); }
        using var bm = new global::MoESdk.Modules.LlamaModel(loaded.Config, loaded.Weights);
        output.WriteLine($"dtype {bm.DType}");
        float[] bf = bm.Forward(t, 0, null, true).to_type(ScalarType.Float32).flatten().data<float>().ToArray();
        output.WriteLine($"maxdiff {f32.Zip(bf, (a, b) => Math.Abs(a - b)).Max()} argmax {Array.IndexOf(f32, f32.Max())} {Array.IndexOf(bf, bf.Max())}");
        using var s = new global::MoESdk.Inference.InferenceSession(bm);
        var gen = s.Generate(ids, new global::MoESdk.Inference.GenerationOptions { MaxTokens = 10 }).ToArray();
        output.WriteLine($"gen {string.Join(",", gen)} precision {s.Precision}");
    }
}
