namespace MoESdk.Loading;

/// <summary>
/// Writes a file beside its destination and renames it into place, so a crash or a failed write never
/// leaves a half-written model where a reader would take it for a whole one.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = $"{full}.{Guid.NewGuid():N}.tmp";
        // Registered before the folder is made: a process that is stopping must not recreate a folder it just removed.
        UnfinishedWrites.Begin(temporary);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            UnfinishedWrites.Commit(temporary, () => File.Move(temporary, full, overwrite: true));
        }
        catch
        {
            UnfinishedWrites.Discard(temporary);
            throw;
        }
    }
}
