using System.Runtime.InteropServices;
using MoESdk.Loading;

namespace MoESdk.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM: the unfinished outputs of the running command (a <c>.partial-PID</c> artifact
/// folder, a temporary file) are deleted, an artifact being swapped into place is let finish, and the process
/// exits with code 130 at once. Without this the runtime ends the process before any cleanup runs. Linux and
/// macOS only, like the rest of the command line's native dependencies.
/// </summary>
internal sealed partial class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private StopSignals(PosixSignalRegistration[] registrations) => _registrations = registrations;

    public static StopSignals Register() => new([PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop)]);

    private static void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        UnfinishedWrites.Abandon();
        Console.Error.WriteLine($"stopped by {context.Signal}; unfinished output removed");
        // _exit, not Environment.Exit: the exit handlers of libtorch would run while another thread is still
        // inside it and crash the process (SIGSEGV). Everything that needed cleaning is clean by now.
        ExitNow(CommandRunner.Cancelled);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
