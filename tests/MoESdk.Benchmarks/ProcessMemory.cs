/// <summary>The process's resident set from /proc (Linux): now, and its peak since the last reset.</summary>
internal static class ProcessMemory
{
    public static long Resident => Status("VmRSS");

    public static long Peak => Status("VmHWM");

    // Writing 5 to clear_refs resets VmHWM to the current resident set (Linux 4.0+).
    public static void ResetPeak() => File.WriteAllText($"/proc/{Environment.ProcessId}/clear_refs", "5");

    private static long Status(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
