namespace MoESdk.Tokenization;

/// <summary>Finds and loads the tokenizer that belongs to a model folder or model file.</summary>
internal static class TokenizerLoader
{
    /// <summary>
    /// Loads, in this order of preference, <c>tokenizer.json</c>, <c>tokenizer.model</c>, <c>vocab.json</c> with
    /// <c>merges.txt</c>, or llama2.c's <c>tokenizer.bin</c>. Given a file, loads it when it is one of those,
    /// otherwise (a checkpoint such as llama2.c's <c>model.bin</c>) looks beside it.
    /// </summary>
    /// <returns>The tokenizer, or null when none of those files is present.</returns>
    /// <exception cref="Loading.ModelFormatException">A tokenizer file is present but corrupt or unsupported.</exception>
    public static ITextTokenizer? TryLoad(string modelDirectoryOrFile)
    {
        var directory = modelDirectoryOrFile;
        if (File.Exists(modelDirectoryOrFile))
        {
            directory = Path.GetDirectoryName(Path.GetFullPath(modelDirectoryOrFile))!;
            var name = Path.GetFileName(modelDirectoryOrFile);
            if (name is "tokenizer.json" or "tokenizer.model" or "vocab.json" or "merges.txt" or "tokenizer.bin")
            {
                return LoadNamed(directory, name);
            }
        }
        if (!Directory.Exists(directory))
        {
            return null;
        }
        string[] preference = ["tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer.bin"];
        var found = preference.FirstOrDefault(name => File.Exists(Path.Combine(directory, name)) && (name != "vocab.json" || File.Exists(Path.Combine(directory, "merges.txt"))));
        return found is null ? null : LoadNamed(directory, found);
    }

    private static ITextTokenizer? LoadNamed(string directory, string name) => name switch
    {
        "tokenizer.json" => HuggingFaceTokenizerJson.Load(Path.Combine(directory, name)),
        "tokenizer.model" => SentencePieceTextTokenizer.Load(Path.Combine(directory, name)),
        "tokenizer.bin" => Llama2cTextTokenizer.Load(Path.Combine(directory, name)),
        _ when File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt"))
            => ByteLevelBpeTextTokenizer.Load(Path.Combine(directory, "vocab.json"), Path.Combine(directory, "merges.txt")),
        _ => null,
    };
}
