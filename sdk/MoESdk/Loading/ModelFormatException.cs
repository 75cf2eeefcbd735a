namespace MoESdk.Loading;

/// <summary>
/// A model file is missing, corrupt, truncated, of an unsupported architecture or of the wrong shape. The
/// message names the file and the problem, and is meant to be shown to the user as it is.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file (or folder) at fault.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
