using System.Globalization;

namespace MoESdk.Loading;

/// <summary>
/// Writes a file beside its destination and renames it into place, so a crash or a failed write never
/// leaves a half-written model where a reader would take it for a whole one.
/// </summary>
internal static class AtomicFile
{
    private const string TemporaryMarker = ".partial-";

    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        RemoveStaleTemporaries(full);
        // Named after this process, so a later write can tell a killed writer's leftover from a running one's file.
        string temporary = $"{full}{TemporaryMarker}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}.tmp";
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

    /// <summary>Deletes what writers of <paramref name="full"/> that were killed (SIGKILL, a crash) left beside it.</summary>
    private static void RemoveStaleTemporaries(string full)
    {
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder))
        {
            return;
        }
        string prefix = Path.GetFileName(full) + TemporaryMarker;
        foreach (string file in Directory.EnumerateFiles(folder, prefix + "*.tmp"))
        {
            string owner = Path.GetFileName(file)[prefix.Length..].Split('.')[0];
            if (int.TryParse(owner, NumberStyles.None, CultureInfo.InvariantCulture, out int processId) && !UnfinishedWrites.IsRunning(processId))
            {
                File.Delete(file);
            }
        }
    }
}
