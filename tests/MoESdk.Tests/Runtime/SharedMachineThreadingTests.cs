using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MoESdk.Runtime;

namespace MoESdk.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed partial class SharedMachineThreadingTests
{
    [Fact]
    public void LoadingTheSdkAsksOpenMpToWaitPassivelyUnlessTheUserChose()
    {
        // The process's initial environment: what a user set before starting it.
        string? chosen = Environment.GetEnvironmentVariable(SharedMachineThreading.WaitPolicyVariable);

        RuntimeHelpers.RunModuleConstructor(typeof(LanguageModel).Module.ModuleHandle);

        // libgomp reads the native environment, which .NET's managed copy does not show: ask libc.
        string? native = Marshal.PtrToStringAnsi(GetEnvironment(SharedMachineThreading.WaitPolicyVariable));
        Assert.Equal(chosen ?? "PASSIVE", native);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvironment(string name);
}
