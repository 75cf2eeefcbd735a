using System.Reflection;
using System.Runtime.Loader;

namespace MoESdk.Cli.Peers;

/// <summary>
/// The load context of a peer engine's plugin assembly: its dependencies and native libraries resolve from its own
/// deps.json and folder, so the tool carries none of them, and versions the tool also has (Microsoft.Extensions.*) do not
/// clash. The BCL resolves from the default context, which is what lets the contract use BCL types only.
/// </summary>
internal sealed class PeerLoadContext(string assemblyPath) : AssemblyLoadContext($"moe peer {Path.GetFileName(assemblyPath)}")
{
    private readonly AssemblyDependencyResolver _resolver = new(assemblyPath);

    protected override Assembly? Load(AssemblyName assemblyName) =>
        _resolver.ResolveAssemblyToPath(assemblyName) is string path ? LoadFromAssemblyPath(path) : null;

    protected override nint LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is string path ? LoadUnmanagedDllFromPath(path) : 0;
}
