using System.Globalization;
using MoESdk.Loading;

namespace MoESdk.Artifacts;

/// <summary>
/// Where an artifact is saved, and the steps that make saving crash-safe. The new artifact is written to
/// <c>X.moe.partial-PID</c>; an existing <c>X.moe</c> is renamed to <c>X.moe.old-PID</c>, the new one moved
/// in, and only then the old one deleted, so at every instant at least one whole artifact exists. Folders
/// that a killed process left (its PID no longer runs) are cleaned up by the next save to the same path: a
/// partial folder is deleted; an old copy is restored when no artifact took its place, deleted otherwise.
/// </summary>
internal sealed class ArtifactDestination
{
    private const string PartialMarker = ".partial-";
    private const string OldMarker = ".old-";

    public ArtifactDestination(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FullPath = System.IO.Path.GetFullPath(path.TrimEnd('/', '\\'));
        Parent = System.IO.Path.GetDirectoryName(FullPath) ?? throw new ArgumentException($"'{path}' cannot be an artifact folder.", nameof(path));
    }

    /// <summary>The artifact folder.</summary>
    public string FullPath { get; }

    private string Parent { get; }

    private string Name => System.IO.Path.GetFileName(FullPath);

    /// <summary>
    /// Throws <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) unless an artifact can be
    /// saved here: the path is not a file or a folder of something else, and the folder above is writable.
    /// Cheap: meant to run before a conversion of minutes, not after it. Also cleans up after a killed save.
    /// </summary>
    public void Check()
    {
        if (File.Exists(FullPath))
        {
            throw new IOException($"{FullPath} is a file; the output must be a folder: a new one, or an artifact to replace.");
        }
        if (Directory.Exists(FullPath) && !MoEArtifact.IsArtifact(FullPath) && Directory.EnumerateFileSystemEntries(FullPath).Any())
        {
            throw new IOException($"{FullPath} exists and is not a MoE artifact; refusing to replace it: choose another output folder or remove it.");
        }
        try
        {
            Directory.CreateDirectory(Parent);
            string probe = System.IO.Path.Combine(Parent, $"{Name}.probe-{Environment.ProcessId}");
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"cannot write the artifact {FullPath}: {Parent} is not writable ({ex.Message}).", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"cannot write the artifact {FullPath} in {Parent}: {ex.Message}", ex);
        }
        RecoverInterruptedSaves();
    }

    /// <summary>Creates and returns the empty temporary folder the new artifact is written to.</summary>
    internal string BeginWrite()
    {
        RecoverInterruptedSaves();
        string temp = Sibling(PartialMarker, Environment.ProcessId);
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }
        UnfinishedWrites.Begin(temp);
        Directory.CreateDirectory(temp);
        return temp;
    }

    /// <summary>Puts the finished <paramref name="temp"/> folder in place of any old artifact.</summary>
    internal void CommitWrite(string temp) => UnfinishedWrites.Commit(temp, () =>
    {
        string? aside = null;
        if (Directory.Exists(FullPath))
        {
            if (!MoEArtifact.IsArtifact(FullPath) && Directory.EnumerateFileSystemEntries(FullPath).Any())
            {
                throw new IOException($"{FullPath} exists and is not a MoE artifact; refusing to replace it.");
            }
            aside = Sibling(OldMarker, Environment.ProcessId);
            if (Directory.Exists(aside))
            {
                Directory.Delete(aside, recursive: true);
            }
            Directory.Move(FullPath, aside);
        }
        try
        {
            Directory.Move(temp, FullPath);
        }
        catch when (aside is not null)
        {
            Directory.Move(aside, FullPath);
            throw;
        }
        if (aside is not null)
        {
            Directory.Delete(aside, recursive: true);
        }
    });

    /// <summary>Deletes the temporary folder of a save that failed.</summary>
    internal static void AbandonWrite(string temp) => UnfinishedWrites.Discard(temp);

    /// <summary>Cleans up what saves to this path by processes that no longer run left behind.</summary>
    public void RecoverInterruptedSaves()
    {
        if (!Directory.Exists(Parent))
        {
            return;
        }
        foreach (string folder in Directory.EnumerateDirectories(Parent).Where(folder => folder.StartsWith(FullPath + ".", StringComparison.Ordinal)))
        {
            string suffix = System.IO.Path.GetFileName(folder)[Name.Length..];
            if (OwnerOf(suffix, PartialMarker) is { } writer && !UnfinishedWrites.IsRunning(writer))
            {
                Directory.Delete(folder, recursive: true);
            }
            else if (OwnerOf(suffix, OldMarker) is { } replacer && !UnfinishedWrites.IsRunning(replacer))
            {
                if (MoEArtifact.IsArtifact(FullPath))
                {
                    Directory.Delete(folder, recursive: true);
                }
                else if (!Directory.Exists(FullPath))
                {
                    // Killed between moving the old artifact aside and moving the new one in: the old one is whole.
                    Directory.Move(folder, FullPath);
                }
            }
        }
    }

    private string Sibling(string marker, int processId) => FullPath + marker + processId.ToString(CultureInfo.InvariantCulture);

    private static int? OwnerOf(string suffix, string marker) =>
        suffix.StartsWith(marker, StringComparison.Ordinal)
        && int.TryParse(suffix.AsSpan(marker.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int processId)
            ? processId
            : null;
}
