using MoESdk.Artifacts;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tokenization;

namespace MoESdk;

/// <summary>
/// A model ready to run: the decoder and, when the model folder has one, its tokenizer. Opens every format
/// the SDK reads (Hugging Face folders, llama2.c checkpoints).
/// </summary>
public sealed class LanguageModel : IDisposable
{
    public LanguageModel(LlamaModel model, ITextTokenizer? tokenizer, string source, MoEManifest? manifest = null)
    {
        Model = model;
        Tokenizer = tokenizer;
        Source = source;
        Manifest = manifest;
    }

    /// <summary>The manifest when this is a Mixture-of-Experts artifact; null for a dense model.</summary>
    public MoEManifest? Manifest { get; }

    public LlamaModel Model { get; }

    public ITextTokenizer? Tokenizer { get; }

    /// <summary>The path the model was opened from.</summary>
    public string Source { get; }

    /// <summary>
    /// Opens the model at <paramref name="path"/> (a Hugging Face folder, a llama2.c checkpoint or a .moe
    /// artifact); throws <see cref="ModelFormatException"/> naming the file at fault. Unless
    /// <paramref name="options"/> trusts the weights, NaN and infinite weights are refused.
    /// </summary>
    public static LanguageModel Open(string path, LoadOptions? options = null)
    {
        if (MoEArtifact.IsArtifact(path))
        {
            return MoEArtifact.Open(path, options);
        }
        ITextTokenizer? tokenizer = GgufCheckpoint.IsGguf(path) ? GgufCheckpoint.ReadTokenizer(path) : TokenizerLoader.TryLoad(path);
        using LoadedModel loaded = ModelLoader.Load(path, options);
        // The model takes the weights' storage; what is left in `loaded` is disposed empty.
        var model = new LlamaModel(loaded.Config, loaded.Weights);
        return new LanguageModel(model, tokenizer, path);
    }

    /// <summary>
    /// Whether a prompt starts with BOS: when the model's configuration names a BOS id and the tokenizer has one.
    /// Generation, serving and the GGUF export (its <c>add_bos_token</c>) all follow this, so an exported model
    /// reads a prompt as MoESdk does.
    /// </summary>
    internal bool PromptStartsWithBos => Model.Config.BosTokenId is not null && Tokenizer?.BosId is not null;

    /// <summary>A prompt's token ids: the text, with special-token strings as their ids, after BOS where <see cref="PromptStartsWithBos"/>.</summary>
    internal IReadOnlyList<int> EncodePrompt(string text) => RequireTokenizer().Encode(text, addBos: PromptStartsWithBos);

    /// <summary>The tokenizer, or an error that says how to drive a model without one.</summary>
    public ITextTokenizer RequireTokenizer() => Tokenizer ?? throw new ModelFormatException(Source,
        "no tokenizer found (tokenizer.json, tokenizer.model, vocab.json + merges.txt, or tokenizer.bin beside a llama2.c checkpoint); pass token ids instead of text");

    public void Dispose() => Model.Dispose();
}
