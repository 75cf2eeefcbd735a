namespace MoESdk.Tokenization;

/// <summary>Writes a llama2.c <c>tokenizer.bin</c>: int32 max_token_length, then per token float32 score, int32 length, bytes.</summary>
internal static class Llama2cTokenizerWriter
{
    /// <summary>Writes the pieces (raw bytes; id = position) and their merge scores to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyList<(byte[] Piece, float Score)> vocabulary)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(vocabulary.Count == 0 ? 1 : vocabulary.Max(v => v.Piece.Length));
        foreach (var (piece, score) in vocabulary)
        {
            writer.Write(score);
            writer.Write(piece.Length);
            writer.Write(piece);
        }
    }
}
