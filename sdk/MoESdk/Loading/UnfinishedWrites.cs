using System.Diagnostics;

namespace MoESdk.Loading;

/// <summary>
/// The temporary files and folders this process is writing before it renames them into place. A process
/// that is told to stop (Ctrl+C, SIGTERM) calls <see cref="Abandon"/> before it exits, so that nothing
/// half-written is left behind; what a killed process leaves, the next save to the same place removes.
/// </summary>
internal static class UnfinishedWrites
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<string> Paths = new(StringComparer.Ordinal);
    private static bool _abandoned;

    /// <summary>
    /// Deletes every temporary file and folder still being written, waits for a rename into place that is
    /// under way, and makes every later write fail with <see cref="OperationCanceledException"/>.
    /// </summary>
    public static void Abandon()
    {
        lock (Gate)
        {
            _abandoned = true;
            foreach (string path in Paths)
            {
                Delete(path);
            }
            Paths.Clear();
        }
    }

    /// <summary>Records <paramref name="path"/> as being written.</summary>
    internal static void Begin(string path)
    {
        lock (Gate)
        {
            ThrowIfAbandoned();
            Paths.Add(path);
        }
    }

    /// <summary>
    /// Runs <paramref name="commit"/> (the renames that put the finished <paramref name="path"/> in place)
    /// so that <see cref="Abandon"/> never sees it half done, then forgets the path.
    /// </summary>
    internal static void Commit(string path, Action commit)
    {
        lock (Gate)
        {
            ThrowIfAbandoned();
            commit();
            Paths.Remove(path);
        }
    }

    /// <summary>Deletes <paramref name="path"/> after a failed write and forgets it.</summary>
    internal static void Discard(string path)
    {
        lock (Gate)
        {
            Delete(path);
            Paths.Remove(path);
        }
    }

    private static void ThrowIfAbandoned()
    {
        if (_abandoned)
        {
            throw new OperationCanceledException("The process is stopping; nothing more is written.");
        }
    }

    private static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort while stopping or failing: what is left is removed by the next save to the same place.
        }
    }

    /// <summary>Whether the process that named a temporary file or folder after its id still runs.</summary>
    internal static bool IsRunning(int processId)
    {
        if (processId == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using Process process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
