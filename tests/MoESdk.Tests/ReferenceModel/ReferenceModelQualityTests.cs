using Xunit.Abstractions;
using System.Text.RegularExpressions;
using MoESdk.Evaluation;
using MoESdk.Inference;

namespace MoESdk.Tests.ReferenceModel;

/// <summary>
/// The shipped reference model (models/kjv-llama) must be a real language model of its corpus: far better
/// than count-based baselines on held-out books, deterministic for a seed, and writing English words.
/// </summary>
public sealed partial class ReferenceModelQualityTests(ITestOutputHelper output)
{
    private static readonly string ModelFolder = Path.Combine(AppContext.BaseDirectory, "kjv-llama");

    [Fact]
    public void HeldOutPerplexityIsFarBelowUnigramAndBigramBaselines()
    {
        using LanguageModel model = LanguageModel.Open(ModelFolder);
        var tokenizer = model.RequireTokenizer();
        int[] train = [.. tokenizer.Encode(File.ReadAllText(Path.Combine(ModelFolder, "data", "train.txt")), addBos: false)];
        int[] heldOut = [.. tokenizer.Encode(File.ReadAllText(Path.Combine(ModelFolder, "data", "heldout.txt")), addBos: false)];

        double modelPerplexity = ModelEvaluator.Perplexity(model.Model, new TokenWindows(heldOut, 256)).Perplexity;
        var baselines = new CountBaselines(train, tokenizer.VocabSize);
        double unigram = baselines.UnigramPerplexity(heldOut);
        double bigram = baselines.BigramPerplexity(heldOut);

        // A bigram model of the same BPE tokens is the strongest count-based baseline (BPE already folds
        // frequent words into single tokens, so it is a strong one). The model halves it (0.5 = 0.69 nats per
        // token better) and is more than ten times better than the unigram; 0.55 and 0.1 leave a margin for
        // float differences only.
        Assert.True(modelPerplexity < 0.55 * bigram, $"model {modelPerplexity:F2} vs bigram {bigram:F2} (unigram {unigram:F2})");
        Assert.True(modelPerplexity < 0.1 * unigram, $"model {modelPerplexity:F2} vs unigram {unigram:F2}");
        Assert.True(bigram < unigram, $"bigram {bigram:F2} vs unigram {unigram:F2}");
        output.WriteLine($"held-out perplexity: model {modelPerplexity:F2}, bigram {bigram:F2}, unigram {unigram:F2}");
        // The model card states 34.0 (same windows). The bound leaves 3 % for floating-point differences
        // between CPUs only: a real fault in loading or the engine (rotary order, norms, tied head, bf16
        // decoding) costs far more than that.
        Assert.True(modelPerplexity < 35.0, $"held-out perplexity {modelPerplexity:F2} is above the bound 35 (model card: 34.0)");
    }

    [Fact]
    public void GenerationIsDeterministicForASeedAndReadsAsEnglish()
    {
        using LanguageModel model = LanguageModel.Open(ModelFolder);
        var tokenizer = model.RequireTokenizer();
        var options = new GenerationOptions
        {
            MaxTokens = 60,
            Sampling = new SamplingOptions { Temperature = 0.8f, TopK = 40, Seed = 7 },
            StopTokens = tokenizer.EosIds,
        };
        IReadOnlyList<int> prompt = tokenizer.Encode("And God said", addBos: false);
        string Run()
        {
            using var session = new InferenceSession(model.Model);
            return tokenizer.Decode(session.Generate(prompt, options));
        }
        string first = Run();
        Assert.Equal(first, Run());

        // Words the model writes must be words of its corpus: noise would not be.
        var vocabulary = new HashSet<string>(Words().Matches(File.ReadAllText(Path.Combine(ModelFolder, "data", "train.txt"))).Select(m => m.Value.ToLowerInvariant()));
        string[] written = Words().Matches(first).Select(m => m.Value.ToLowerInvariant()).ToArray();
        Assert.True(written.Length >= 20, $"too few words: '{first}'");
        double known = written.Count(vocabulary.Contains) / (double)written.Length;
        Assert.True(known > 0.9, $"only {known:P0} of the generated words are English words of the corpus: '{first}'");
    }

    [GeneratedRegex("[A-Za-z]+")]
    private static partial Regex Words();

    /// <summary>Add-one unigram and interpolated bigram models of a token stream: the baselines to beat.</summary>
    private sealed class CountBaselines
    {
        private readonly double[] _unigram;
        private readonly Dictionary<(int, int), int> _bigrams = [];
        private readonly int[] _contextCounts;

        public CountBaselines(int[] tokens, int vocabulary)
        {
            var counts = new int[vocabulary];
            _contextCounts = new int[vocabulary];
            for (int i = 0; i < tokens.Length; i++)
            {
                counts[tokens[i]]++;
                if (i > 0)
                {
                    _contextCounts[tokens[i - 1]]++;
                    _bigrams[(tokens[i - 1], tokens[i])] = _bigrams.GetValueOrDefault((tokens[i - 1], tokens[i])) + 1;
                }
            }
            _unigram = counts.Select(c => (c + 1.0) / (tokens.Length + vocabulary)).ToArray();
        }

        public double UnigramPerplexity(int[] tokens) => Math.Exp(-tokens.Skip(1).Average(t => Math.Log(_unigram[t])));

        public double BigramPerplexity(int[] tokens)
        {
            double nll = 0;
            for (int i = 1; i < tokens.Length; i++)
            {
                int context = _contextCounts[tokens[i - 1]];
                double bigram = context == 0 ? 0 : _bigrams.GetValueOrDefault((tokens[i - 1], tokens[i])) / (double)context;
                // Interpolation with the unigram keeps unseen pairs possible; 0.8 is near the optimum for this much data.
                nll -= Math.Log(0.8 * bigram + 0.2 * _unigram[tokens[i]]);
            }
            return Math.Exp(nll / (tokens.Length - 1));
        }
    }
}
