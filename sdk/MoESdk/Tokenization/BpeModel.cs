using System.Collections.Concurrent;
using System.Text;

namespace MoESdk.Tokenization;

/// <summary>
/// A tokenizer.json BPE model: each word starts as its characters (code points), and the adjacent pair whose merge
/// comes first in the merge list is joined, the leftmost where the same pair occurs more than once, until no pair
/// can be merged. Pieces missing from the vocabulary become their UTF-8 byte tokens (<c>&lt;0x41&gt;</c>) with
/// byte fallback, or the unknown token.
/// </summary>
internal sealed class BpeModel
{
    // Results for words shorter than this are kept; longer words rarely repeat.
    private const int CacheableLength = 256;
    private const int CacheCapacity = 100_000;

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;
    private readonly int? _unknownId;
    private readonly bool _fuseUnknown;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly int[]? _byteIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cached;

    /// <param name="ids">Token → id: the model's vocabulary, with added tokens over it, as the reference resolves tokens.</param>
    /// <param name="merges">The merges, in priority order.</param>
    /// <param name="unknownId">The unknown token's id, if the model has one.</param>
    /// <param name="fuseUnknown">Whether consecutive unknown tokens become one.</param>
    /// <param name="byteFallback">Whether unknown pieces become their UTF-8 byte tokens.</param>
    /// <param name="ignoreMerges">Whether a word that is itself in the vocabulary is taken whole (LLaMA-3).</param>
    public BpeModel(Dictionary<string, int> ids, IReadOnlyList<(string Left, string Right)> merges, int? unknownId, bool fuseUnknown, bool byteFallback, bool ignoreMerges)
    {
        _ids = ids;
        _unknownId = unknownId;
        _fuseUnknown = fuseUnknown;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            // A merge whose parts or result are not tokens can never apply to token pieces.
            if (ids.TryGetValue(left, out var l) && ids.TryGetValue(right, out var r) && ids.TryGetValue(left + right, out var merged))
            {
                _merges.TryAdd(Key(l, r), (rank, merged));
            }
        }
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (var b = 0; b < 256; b++)
            {
                _byteIds[b] = ids.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
            }
        }
    }

    /// <summary>Appends the ids of one word.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0)
        {
            return;
        }
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        int[] ids = _ignoreMerges && _ids.TryGetValue(word, out var whole) ? [whole] : Merge(word);
        if (word.Length < CacheableLength)
        {
            // ConcurrentDictionary.Count takes every lock, so the entries are counted here.
            if (Interlocked.Increment(ref _cached) > CacheCapacity)
            {
                _cache.Clear();
                Interlocked.Exchange(ref _cached, 0);
            }
            _cache.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private int[] Merge(string word)
    {
        // Symbols are code points; a symbol that is not a token has id -1 and takes part in no merge.
        var starts = new List<int>(word.Length);
        var ids = new List<int>(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            var length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            starts.Add(i);
            ids.Add(_ids.TryGetValue(word.Substring(i, length), out var id) ? id : -1);
            i += length - 1;
        }
        var count = ids.Count;
        var ends = new int[count];
        for (var s = 0; s < count; s++)
        {
            ends[s] = s + 1 < count ? starts[s + 1] : word.Length;
        }

        // A doubly linked list of symbols; the queue holds candidate merges by (rank, position of the left symbol).
        var next = new int[count];
        var previous = new int[count];
        var alive = new bool[count];
        var symbol = ids.ToArray();
        for (var s = 0; s < count; s++)
        {
            next[s] = s + 1 < count ? s + 1 : -1;
            previous[s] = s - 1;
            alive[s] = true;
        }
        var queue = new PriorityQueue<(int Left, int Right, int Rank), (int Rank, int Position)>();
        void Consider(int left)
        {
            var right = next[left];
            if (right >= 0 && symbol[left] >= 0 && symbol[right] >= 0 && _merges.TryGetValue(Key(symbol[left], symbol[right]), out var merge))
            {
                queue.Enqueue((left, right, merge.Rank), (merge.Rank, left));
            }
        }
        for (var s = 0; s + 1 < count; s++)
        {
            Consider(s);
        }
        while (queue.TryDequeue(out var candidate, out _))
        {
            var (left, right, rank) = candidate;
            // Stale when either side has been merged away or changed since the candidate was queued.
            if (!alive[left] || !alive[right] || next[left] != right || !_merges.TryGetValue(Key(symbol[left], symbol[right]), out var current) || current.Rank != rank)
            {
                continue;
            }
            symbol[left] = current.Merged;
            ends[left] = ends[right];
            alive[right] = false;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }
            if (previous[left] >= 0)
            {
                Consider(previous[left]);
            }
            Consider(left);
        }

        var result = new List<int>(count);
        for (var s = 0; s >= 0 && s < count; s = next[s])
        {
            if (symbol[s] >= 0)
            {
                result.Add(symbol[s]);
            }
            else
            {
                AddUnknown(word.Substring(starts[s], ends[s] - starts[s]), result);
            }
        }
        return [.. result];
    }

    private void AddUnknown(string piece, List<int> result)
    {
        if (_byteFallback)
        {
            var bytes = Encoding.UTF8.GetBytes(piece);
            if (bytes.All(b => _byteIds![b] >= 0))
            {
                result.AddRange(bytes.Select(b => _byteIds![b]));
                return;
            }
        }
        if (_unknownId is not { } unknown)
        {
            return;
        }
        if (_fuseUnknown && result.Count > 0 && result[^1] == unknown)
        {
            return;
        }
        result.Add(unknown);
    }
}
