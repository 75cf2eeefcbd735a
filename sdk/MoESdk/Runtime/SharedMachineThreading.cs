using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MoESdk.Runtime;

/// <summary>
/// Makes libtorch's OpenMP threads sleep instead of spin while they wait for work, before libtorch is loaded.
/// </summary>
/// <remarks>
/// libtorch's GNU OpenMP runtime spins a waiting thread for a long time by default. When other work shares the cores
/// (an IDE, a test runner, parallel MSBuild nodes), a spinning thread holds a core that the thread it waits for needs,
/// and every parallel region of every small tensor operation pays for it: a 30-second conversion was seen taking 16 to
/// 33 minutes beside other work. With the passive policy a waiting thread yields its core at once; on an idle machine
/// this costs a few microseconds per region. libgomp reads the policy from the process environment when it is loaded,
/// so it has to be in the native environment before the first tensor operation: .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> keeps a managed copy only on Unix, hence
/// <c>setenv</c>. A value the user has set (OMP_WAIT_POLICY=ACTIVE for a dedicated machine) is kept.
/// </remarks>
internal static class SharedMachineThreading
{
    internal const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "libtorch reads the policy once, when this assembly first touches a tensor; an initializer is the only hook that runs before that for every entry point (CLI, hosting, user code).")]
    internal static void PreferPassiveWaiting()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable(WaitPolicyVariable) is not null)
        {
            return;
        }
        // overwrite = 0: never replaces a value set between the check above and this call.
        _ = SetEnvironment(WaitPolicyVariable, "PASSIVE", 0);
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetEnvironment(string name, string value, int overwrite);
}
