using System.Runtime.InteropServices;
using System.Text;

namespace MoESdk.Tokenization;

/// <summary>
/// Learns a byte-level BPE vocabulary (GPT-2 style) from text: words are split by the same regular expression
/// the tokenizer uses, counted, and the most frequent adjacent pair is merged until the vocabulary is full.
/// Pair counts are updated only for the words a merge touches, so training cost follows the merges, not the corpus.
/// </summary>
internal sealed class BpeTrainer
{
    /// <param name="vocabularySize">Tokens in the result, including the three special tokens and the 256 bytes.</param>
    public BpeTrainer(int vocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, SpecialCount + 256);
        VocabularySize = vocabularySize;
    }

    // <unk>, <s>, </s> take ids 0, 1, 2 as in LLaMA, so models trained on this vocabulary use LLaMA's BOS and EOS
    // ids. <unk> is never produced (every byte has a token) but transformers' GPT2Tokenizer expects one.
    private const int SpecialCount = 3;

    public int VocabularySize { get; }

    public string UnknownToken { get; init; } = "<unk>";

    public string BosToken { get; init; } = "<s>";

    public string EosToken { get; init; } = "</s>";

    public TrainedBpeVocabulary Train(string corpus) => Train([corpus]);

    public TrainedBpeVocabulary Train(IEnumerable<string> documents)
    {
        var (words, counts) = CountWords(documents);

        var tokenBytes = new List<byte[]>();
        var tokens = new List<string> { UnknownToken, BosToken, EosToken };
        tokenBytes.AddRange([[], [], []]);
        for (var b = 0; b < 256; b++)
        {
            tokenBytes.Add([(byte)b]);
            tokens.Add(ByteLevelAlphabet.ToChar((byte)b).ToString());
        }
        var idOfToken = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < tokens.Count; id++)
        {
            idOfToken.TryAdd(tokens[id], id);
        }

        var pairCounts = new Dictionary<long, long>();
        var wordsWithPair = new Dictionary<long, List<int>>();
        for (var w = 0; w < words.Length; w++)
        {
            for (var i = 0; i < words[w].Length - 1; i++)
            {
                var pair = Pair(words[w][i], words[w][i + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += counts[w];
                Occurrences(wordsWithPair, pair).Add(w);
            }
        }
        // Counts only fall for pairs already queued, so a queued count is stale exactly when it is above the
        // current one; stale entries are re-queued when they surface.
        var queue = new PriorityQueue<long, PairRank>(pairCounts.Select(p => (p.Key, new PairRank(p.Value, p.Key))));

        var merges = new List<(string, string)>();
        var seenInMerge = new int[words.Length];
        var mergeNumber = 0;
        while (tokens.Count < VocabularySize && queue.TryDequeue(out var best, out var rank))
        {
            var current = pairCounts.GetValueOrDefault(best);
            if (current != rank.Count)
            {
                if (current > 0)
                {
                    queue.Enqueue(best, new PairRank(current, best));
                }
                continue;
            }
            var (left, right) = ((int)(best >> 32), (int)best);
            byte[] merged = [.. tokenBytes[left], .. tokenBytes[right]];
            var text = ByteLevelAlphabet.Encode(merged);
            // Two merge orders can spell the same bytes ("ab"+"c", "a"+"bc"); like Hugging Face, reuse the token.
            if (!idOfToken.TryGetValue(text, out var newId))
            {
                newId = tokens.Count;
                idOfToken[text] = newId;
                tokens.Add(text);
                tokenBytes.Add(merged);
            }
            merges.Add((tokens[left], tokens[right]));

            mergeNumber++;
            var touched = new HashSet<long>();
            foreach (var w in wordsWithPair[best])
            {
                if (seenInMerge[w] == mergeNumber)
                {
                    continue;
                }
                seenInMerge[w] = mergeNumber;
                var mergedWord = MergeInWord(words[w], left, right, newId);
                if (mergedWord is null)
                {
                    continue;
                }
                UpdatePairCounts(words[w], mergedWord, counts[w], w, newId, pairCounts, wordsWithPair, touched);
                words[w] = mergedWord;
            }
            pairCounts.Remove(best);
            wordsWithPair.Remove(best);
            foreach (var pair in touched)
            {
                if (pairCounts.GetValueOrDefault(pair) > 0)
                {
                    queue.Enqueue(pair, new PairRank(pairCounts[pair], pair));
                }
            }
        }
        return new TrainedBpeVocabulary(tokens, merges, UnknownToken, BosToken, EosToken);
    }

    private static (int[][] Words, long[] Counts) CountWords(IEnumerable<string> documents)
    {
        var frequency = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = frequency.GetAlternateLookup<ReadOnlySpan<char>>();
        var regex = ByteLevelPreTokenizer.Gpt2();
        foreach (var document in documents)
        {
            foreach (var match in regex.EnumerateMatches(document))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(lookup, document.AsSpan(match.Index, match.Length), out _)++;
            }
        }
        var words = new int[frequency.Count][];
        var counts = new long[frequency.Count];
        var w = 0;
        foreach (var (word, count) in frequency)
        {
            words[w] = [.. Encoding.UTF8.GetBytes(word).Select(b => b + SpecialCount)];
            counts[w++] = count;
        }
        return (words, counts);
    }

    /// <summary>Joins every left-to-right occurrence of (left, right); null when the word has none.</summary>
    private static int[]? MergeInWord(int[] symbols, int left, int right, int newId)
    {
        List<int>? result = null;
        for (var i = 0; i < symbols.Length; i++)
        {
            if (i < symbols.Length - 1 && symbols[i] == left && symbols[i + 1] == right)
            {
                result ??= [.. symbols.AsSpan(0, i)];
                result.Add(newId);
                i++;
            }
            else
            {
                result?.Add(symbols[i]);
            }
        }
        return result?.ToArray();
    }

    private static void UpdatePairCounts(int[] before, int[] after, long count, int word, int newId, Dictionary<long, long> pairCounts, Dictionary<long, List<int>> wordsWithPair, HashSet<long> touched)
    {
        for (var i = 0; i < before.Length - 1; i++)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, Pair(before[i], before[i + 1]), out _) -= count;
        }
        for (var i = 0; i < after.Length - 1; i++)
        {
            var pair = Pair(after[i], after[i + 1]);
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += count;
            if (after[i] == newId || after[i + 1] == newId)
            {
                touched.Add(pair);
                Occurrences(wordsWithPair, pair).Add(word);
            }
        }
    }

    private static List<int> Occurrences(Dictionary<long, List<int>> wordsWithPair, long pair)
    {
        ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(wordsWithPair, pair, out _);
        return list ??= [];
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Most frequent first; ties go to the smaller (left, right) ids so training is deterministic.</summary>
    private readonly record struct PairRank(long Count, long Pair) : IComparable<PairRank>
    {
        public int CompareTo(PairRank other) => Count != other.Count ? other.Count.CompareTo(Count) : Pair.CompareTo(other.Pair);
    }
}
