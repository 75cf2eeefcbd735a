using System.Globalization;
using System.Text;
using MoESdk.Loading;

namespace MoESdk.Tokenization;

/// <summary>
/// The tokenizer of Karpathy's llama2.c (<c>tokenizer.bin</c>), encoding and decoding exactly as its run.c does:
/// a dummy-prefix space, one token per UTF-8 character (or <c>&lt;0xXX&gt;</c> byte tokens at id 3 + byte where the
/// character is not in the vocabulary), then repeated merges of the adjacent pair whose joined piece scores highest.
/// </summary>
internal sealed class Llama2cTextTokenizer : ITextTokenizer
{
    private const int ByteTokenOffset = 3;

    // Pieces are byte strings; Latin-1 maps each byte to one char, so joining keys is joining bytes.
    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _idOfPiece = new(StringComparer.Ordinal);

    /// <summary>Creates the tokenizer from pieces (raw bytes, with spaces as spaces) and their merge scores.</summary>
    public Llama2cTextTokenizer(IReadOnlyList<(byte[] Piece, float Score)> vocabulary)
    {
        _pieces = new string[vocabulary.Count];
        _scores = new float[vocabulary.Count];
        for (var id = 0; id < vocabulary.Count; id++)
        {
            _pieces[id] = Encoding.Latin1.GetString(vocabulary[id].Piece);
            _scores[id] = vocabulary[id].Score;
            // run.c binary-searches a sorted copy; with duplicate pieces the first id is as good as any.
            _idOfPiece.TryAdd(_pieces[id], id);
        }
    }

    public int VocabSize => _pieces.Length;

    /// <summary>1, as run.c hard-codes.</summary>
    public int? BosId => 1;

    /// <summary>2, as run.c hard-codes.</summary>
    public IReadOnlyList<int> EosIds { get; } = [2];

    /// <summary>Reads a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes.</summary>
    public static Llama2cTextTokenizer Load(string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            var maxLength = reader.ReadInt32();
            if (maxLength <= 0)
            {
                throw new ModelFormatException(path, $"max_token_length is {maxLength}; not a llama2.c tokenizer.bin");
            }
            var vocabulary = new List<(byte[], float)>();
            while (reader.BaseStream.Position < reader.BaseStream.Length)
            {
                var score = reader.ReadSingle();
                var length = reader.ReadInt32();
                if (length < 0 || length > maxLength)
                {
                    throw new ModelFormatException(path, $"token {vocabulary.Count} has length {length}, outside 0..{maxLength}");
                }
                var piece = reader.ReadBytes(length);
                if (piece.Length != length)
                {
                    throw new EndOfStreamException();
                }
                vocabulary.Add((piece, score));
            }
            return new Llama2cTextTokenizer(vocabulary);
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFormatException(path, "the file ends inside a token; truncated or not a llama2.c tokenizer.bin", e);
        }
    }

    /// <summary>
    /// Adds BOS for <paramref name="addSpecialTokens"/>. run.c matches no special tokens in text (its BOS and EOS pieces
    /// are not strings a user types), so <paramref name="parseSpecialTokens"/> changes nothing.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens, bool parseSpecialTokens) => Encode(text, addSpecialTokens);

    /// <summary>The id of a piece, written as UTF-8 text with spaces as spaces.</summary>
    public int? TokenToId(string token) =>
        _idOfPiece.TryGetValue(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(token)), out var id) ? id : null;

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var tokens = new List<int>(text.Length + 2);
        if (addBos)
        {
            tokens.Add(1);
        }
        if (text.Length == 0)
        {
            return tokens;
        }
        var first = tokens.Count;
        // run.c adds the dummy prefix as its own token before the text; prefixing the text merges the same way.
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in (" " + text).EnumerateRunes())
        {
            var length = rune.EncodeToUtf8(utf8);
            if (_idOfPiece.TryGetValue(Encoding.Latin1.GetString(utf8[..length]), out var id))
            {
                tokens.Add(id);
            }
            else
            {
                foreach (var b in utf8[..length])
                {
                    tokens.Add(b + ByteTokenOffset);
                }
            }
        }
        MergeBestPairs(tokens, first);
        return tokens;
    }

    /// <summary>
    /// Decodes text only: BOS and EOS are left out, the dummy-prefix space at the start is stripped (run.c strips it
    /// after BOS), and <c>&lt;0xXX&gt;</c> tokens become their bytes.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        var atStart = true;
        foreach (var id in ids)
        {
            if (id == 1 || id == 2)
            {
                atStart = id == 1 || atStart;
                continue;
            }
            var piece = (uint)id < (uint)_pieces.Length ? _pieces[id] : throw new ArgumentOutOfRangeException(nameof(ids), id, $"not a token id (vocabulary size {_pieces.Length})");
            if (TryParseByteToken(piece, out var value))
            {
                bytes.Add(value);
            }
            else
            {
                var skip = atStart && piece.StartsWith(' ') ? 1 : 0;
                bytes.AddRange(Encoding.Latin1.GetBytes(piece[skip..]));
            }
            atStart = false;
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private void MergeBestPairs(List<int> tokens, int first)
    {
        // pairScore[i] scores merging tokens[i] and tokens[i + 1]; only the neighbours of a merge change.
        var pairId = new List<int>(tokens.Count);
        var pairScore = new List<float>(tokens.Count);
        for (var i = first; i < tokens.Count - 1; i++)
        {
            var (id, score) = ScorePair(tokens[i], tokens[i + 1]);
            pairId.Add(id);
            pairScore.Add(score);
        }
        while (true)
        {
            var best = -1;
            var bestScore = float.NegativeInfinity;
            for (var p = 0; p < pairId.Count; p++)
            {
                // Strictly greater: on ties the leftmost pair wins, as in run.c.
                if (pairId[p] >= 0 && pairScore[p] > bestScore)
                {
                    best = p;
                    bestScore = pairScore[p];
                }
            }
            if (best < 0)
            {
                return;
            }
            var i = best + first;
            tokens[i] = pairId[best];
            tokens.RemoveAt(i + 1);
            pairId.RemoveAt(best);
            pairScore.RemoveAt(best);
            if (best > 0)
            {
                (pairId[best - 1], pairScore[best - 1]) = ScorePair(tokens[i - 1], tokens[i]);
            }
            if (best < pairId.Count)
            {
                (pairId[best], pairScore[best]) = ScorePair(tokens[i], tokens[i + 1]);
            }
        }
    }

    private (int Id, float Score) ScorePair(int left, int right) =>
        _idOfPiece.TryGetValue(string.Concat(_pieces[left], _pieces[right]), out var id) ? (id, _scores[id]) : (-1, float.NegativeInfinity);

    private static bool TryParseByteToken(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
