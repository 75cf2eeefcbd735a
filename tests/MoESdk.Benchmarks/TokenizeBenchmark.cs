using System.Diagnostics;
using MoESdk.Tokenization;

/// <summary>
/// `tokenize FOLDER TEXT [PASSES]`: encoding speed of the tokenizer in FOLDER, in tokens per second, the median over
/// the passes after one warm-up pass. The text is encoded in pieces of about 2,000 characters cut at line ends, as
/// prompts are, exactly as the reference's bench.mjs (tests/MoESdk.Tests/Tokenization/Reference) does.
/// </summary>
internal static class TokenizeBenchmark
{
    public static void Run(string[] args)
    {
        if (args is not [var folder, var textFile, ..])
        {
            Console.Error.WriteLine("usage: tokenize FOLDER TEXT [PASSES]");
            return;
        }
        var passes = args.Length > 2 ? int.Parse(args[2]) : 5;
        var tokenizer = TokenizerLoader.TryLoad(folder) ?? throw new InvalidOperationException($"no tokenizer in {folder}");
        var pieces = Pieces(File.ReadAllText(textFile));
        var rates = new List<double>();
        var count = 0;
        for (var pass = 0; pass <= passes; pass++)
        {
            var start = Stopwatch.GetTimestamp();
            count = 0;
            foreach (var piece in pieces)
            {
                count += tokenizer.Encode(piece, addSpecialTokens: false, parseSpecialTokens: true).Count;
            }
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (pass > 0)
            {
                rates.Add(count / seconds);
            }
        }
        rates.Sort();
        Console.WriteLine($"{Path.GetFileName(Path.GetFullPath(folder))}: {count} tokens, {rates[rates.Count / 2] / 1e6:F2} M tokens/s (median of {passes})");
    }

    private static List<string> Pieces(string text)
    {
        var pieces = new List<string>();
        var piece = new System.Text.StringBuilder();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            piece.Append(lines[i]);
            if (i < lines.Length - 1)
            {
                piece.Append('\n');
            }
            if (piece.Length >= 2000)
            {
                pieces.Add(piece.ToString());
                piece.Clear();
            }
        }
        if (piece.Length > 0)
        {
            pieces.Add(piece.ToString());
        }
        return pieces;
    }
}
