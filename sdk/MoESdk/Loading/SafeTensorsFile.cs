using System.Buffers.Binary;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// A memory-mapped <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header that
/// names each tensor's dtype, shape and byte range, then the raw tensor data. The header is validated when
/// the file is opened; tensors are copied out of the map one at a time on request.
/// </summary>
internal sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted; real headers are kilobytes, so more means corruption.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private const int LengthPrefixBytes = 8;

    private readonly MappedFile _file;
    private readonly SafeTensorsHeader _header;
    private readonly long _dataStart;
    private Tensor? _halves;

    private SafeTensorsFile(MappedFile file, SafeTensorsHeader header, long dataStart)
    {
        _file = file;
        _header = header;
        _dataStart = dataStart;
    }

    public string Path => _file.Path;

    /// <summary>Every tensor the header describes, by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries => _header.Entries;

    /// <summary>The header's <c>__metadata__</c> strings; empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    public bool Contains(string name) => _header.Entries.ContainsKey(name);

    /// <summary>Maps <paramref name="path"/> and validates its header.</summary>
    /// <exception cref="ModelFormatException">The file is missing, truncated or its header is invalid.</exception>
    public static SafeTensorsFile Open(string path)
    {
        MappedFile file = MappedFile.Open(path);
        try
        {
            if (file.Length < LengthPrefixBytes)
            {
                throw new ModelFormatException(path, $"file is {file.Length} bytes, too short for a safetensors header");
            }
            // An unsigned length above long.MaxValue reads as negative here, and is rejected with the rest.
            long headerLength = BinaryPrimitives.ReadInt64LittleEndian(file.Bytes(0, LengthPrefixBytes));
            long available = file.Length - LengthPrefixBytes;
            if (headerLength < 2 || headerLength > MaxHeaderBytes || headerLength > available)
            {
                throw new ModelFormatException(path,
                    $"safetensors header length {headerLength} is invalid (file holds {available} bytes after the length, limit {MaxHeaderBytes}); the file is truncated, corrupt or not a safetensors file");
            }
            long dataStart = LengthPrefixBytes + headerLength;
            var header = SafeTensorsHeader.Parse(file.Bytes(LengthPrefixBytes, (int)headerLength), file.Length - dataStart, path);
            return new SafeTensorsFile(file, header, dataStart);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The tensor <paramref name="name"/> as a new float32 CPU tensor, whatever dtype it is stored in.</summary>
    public Tensor Read(string name) => Read(name, ScalarType.Float32);

    /// <summary>
    /// The tensor <paramref name="name"/> as a CPU tensor of <paramref name="type"/>: converted from any other stored
    /// type; stored in that type, it is read as is, and with <paramref name="map"/> a bfloat16 tensor is not even copied
    /// where it can be mapped (see <see cref="Mapped"/>).
    /// </summary>
    public Tensor Read(string name, ScalarType type, bool map = false)
    {
        if (map && Mapped(name, type) is Tensor mapped)
        {
            return mapped;
        }
        using var scope = NewDisposeScope();
        Tensor stored = ReadAsStored(name);
        return (stored.dtype == type ? stored : stored.to(type)).MoveToOuterDisposeScope();
    }

    /// <summary>The tensor <paramref name="name"/> as a new CPU tensor in its stored dtype (F32, F16 or BF16), without conversion.</summary>
    public Tensor ReadAsStored(string name)
    {
        if (!_header.Entries.TryGetValue(name, out SafeTensorsEntry? entry))
        {
            throw new ModelFormatException(Path, $"tensor '{name}' is missing");
        }
        ScalarType type = SafeTensorsDTypes.ToScalarType(entry.DType)
            ?? throw new ModelFormatException(Path, $"tensor '{name}' has dtype {entry.DType}; only {string.Join(", ", SafeTensorsDTypes.Readable)} can be read");
        return _file.ReadTensor(_dataStart + entry.Begin, entry.Shape.ToArray(), type);
    }

    /// <summary>
    /// A bfloat16 tensor as a view of the file mapped copy-on-write (<see cref="LoadOptions.MapWeights"/>): pages are
    /// read in as they are first touched, and processes mapping the same file share them. Writes to the view (none in
    /// inference) stay private to the process. Mapped only where the tensor starts at an even byte of the file;
    /// otherwise, and for any other type, null (the tensor is copied).
    /// </summary>
    private Tensor? Mapped(string name, ScalarType type)
    {
        if (type != ScalarType.BFloat16 || !_header.Entries.TryGetValue(name, out SafeTensorsEntry? entry)
            || SafeTensorsDTypes.ToScalarType(entry.DType) != ScalarType.BFloat16)
        {
            return null;
        }
        long start = _dataStart + entry.Begin;
        long count = entry.ElementCount;
        if (start % sizeof(ushort) != 0 || count == 0)
        {
            return null;
        }
        // One mapping for the whole file; each tensor is a view of it, which keeps the mapping alive after this handle
        // is disposed with the file.
        _halves ??= from_file(Path, shared: false, size: _file.Length / sizeof(ushort), dtype: ScalarType.BFloat16).DetachFromDisposeScope();
        using Tensor flat = _halves.narrow(0, start / sizeof(ushort), count);
        return flat.view(entry.Shape.ToArray());
    }

    public void Dispose()
    {
        _halves?.Dispose();
        _file.Dispose();
    }
}
