using System.Reflection;
using MoESdk.Evaluation;
using MoESdk.Export;
using MoESdk.Inference;

namespace MoESdk.Cli.Peers;

/// <summary>
/// Another inference engine <c>moe bench --peer</c> measures on the same weights, in this process: llama.cpp through
/// LLamaSharp, built as a plugin (tests/MoESdk.Benchmarks.LlamaCpp) that the tool loads but does not ship. The plugin's
/// static <c>Engine()</c>, <c>Open(...)</c> and <c>Run(...)</c> methods are bound by name; their signatures are the contract.
/// </summary>
internal sealed class PeerEngine
{
    /// <summary>The one peer there is, as <c>--peer</c> names it.</summary>
    public const string LlamaCpp = "llamacpp";

    private const string AssemblyName = "MoESdk.Benchmarks.LlamaCpp";
    private const string TypeName = "MoESdk.Benchmarks.LlamaCpp.LlamaCppPeer";
    private const string Project = "tests/MoESdk.Benchmarks.LlamaCpp";

    private readonly Func<string, int, int, int, IDisposable> _open;
    private readonly Func<IDisposable, int[], int, (double, double)> _run;

    private PeerEngine(string name, Func<string, int, int, int, IDisposable> open, Func<IDisposable, int[], int, (double, double)> run)
    {
        Name = name;
        _open = open;
        _run = run;
    }

    /// <summary>The engine's name and version, as it reports them.</summary>
    public string Name { get; }

    /// <summary>
    /// Loads the llama.cpp peer from <paramref name="path"/> (its assembly or the folder it was built to); without a path,
    /// from <c>peers/llamacpp</c> beside the tool.
    /// </summary>
    /// <exception cref="FileNotFoundException">No peer assembly there; the message says how to build one.</exception>
    /// <exception cref="InvalidOperationException">The assembly does not carry the peer contract this tool binds.</exception>
    public static PeerEngine Load(string? path)
    {
        string assemblyPath = Locate(path);
        Assembly assembly = new PeerLoadContext(assemblyPath).LoadFromAssemblyPath(assemblyPath);
        Type type = assembly.GetType(TypeName)
            ?? throw Mismatch(assemblyPath, $"it has no type {TypeName}");
        try
        {
            var engine = Bind<Func<string>>(type, "Engine");
            return new PeerEngine(engine(), Bind<Func<string, int, int, int, IDisposable>>(type, "Open"),
                Bind<Func<IDisposable, int[], int, (double, double)>>(type, "Run"));
        }
        catch (ArgumentException ex)
        {
            throw Mismatch(assemblyPath, ex.Message);
        }
    }

    /// <summary>The GGUF weight type the peer runs for a precision MoESdk decodes in: the same bytes, or llama.cpp's matching block format.</summary>
    public static GgufTensorType WeightType(DecodePrecision precision) => precision switch
    {
        DecodePrecision.Float32 => GgufTensorType.F32,
        DecodePrecision.BFloat16 => GgufTensorType.BF16,
        DecodePrecision.Int8 => GgufTensorType.Q8_0,
        DecodePrecision.Int4 => GgufTensorType.Q4_0,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>
    /// The GGUF file at <paramref name="gguf"/> loaded by the peer, as a subject <see cref="SpeedBenchmark"/> measures in
    /// rounds with MoESdk's models; <paramref name="contextTokens"/> positions, prompts of up to <paramref name="promptTokens"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The engine failed; the message is its own.</exception>
    public ISpeedSubject Open(string gguf, int threads, int contextTokens, int promptTokens) =>
        new Subject(this, gguf, Call(gguf, () => _open(gguf, threads, contextTokens, promptTokens)));

    private T Call<T>(string gguf, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{Name} failed on {Path.GetFileName(gguf)}: {ex.Message}", ex);
        }
    }

    private sealed class Subject(PeerEngine engine, string gguf, IDisposable session) : ISpeedSubject
    {
        public (double PrefillSeconds, double DecodeSeconds) Run(int[] prompt, int decodeTokens) =>
            engine.Call(gguf, () => engine._run(session, prompt, decodeTokens));

        public void Dispose() => session.Dispose();
    }

    private static string Locate(string? path)
    {
        string candidate = path ?? Path.Combine(AppContext.BaseDirectory, "peers", LlamaCpp);
        if (Directory.Exists(candidate))
        {
            candidate = Path.Combine(candidate, AssemblyName + ".dll");
        }
        if (!File.Exists(candidate))
        {
            throw new FileNotFoundException(
                $"--peer {LlamaCpp} needs the llama.cpp peer, {AssemblyName}.dll, and there is none at {Path.GetFullPath(candidate)}. "
                + $"The tool does not ship it (it brings LLamaSharp and llama.cpp's native libraries): build it from the MoESdk repository "
                + $"with 'dotnet build {Project} -c Release' and pass --peer-path {Project}/bin/Release/net10.0.", candidate);
        }
        return Path.GetFullPath(candidate);
    }

    private static T Bind<T>(Type type, string method) where T : Delegate =>
        (type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)
            ?? throw new ArgumentException($"it has no public static method {method}")).CreateDelegate<T>();

    private static InvalidOperationException Mismatch(string path, string reason) =>
        new($"{path} is not a peer this version of moe can run ({reason}): rebuild {Project} from the same MoESdk version as the tool.");
}
