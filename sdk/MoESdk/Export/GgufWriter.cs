using System.Text;
using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Export;

/// <summary>
/// Builds a GGUF version 3 file (the format of llama.cpp): header, key/value metadata, tensor descriptions,
/// then each tensor's data aligned to 32 bytes. Tensors are described up front and produced one at a time
/// while the data is written, so a model is never held twice in memory. The file appears only when complete.
/// </summary>
internal sealed class GgufWriter
{
    /// <summary>Byte alignment of tensor data (GGUF's default, so it is not written as a key).</summary>
    public const int Alignment = 32;

    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const uint Version = 3;

    private readonly List<(string Key, Action<BinaryWriter> WriteValue)> _metadata = [];
    private readonly List<GgufTensor> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    private enum ValueType : uint
    {
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
    }

    /// <summary>Tensors added so far, in file order.</summary>
    public IReadOnlyList<GgufTensor> Tensors => _tensors;

    public void Add(string key, string value) => AddValue(key, w => { w.Write((uint)ValueType.String); WriteString(w, value); });

    public void Add(string key, uint value) => AddValue(key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); });

    public void Add(string key, float value) => AddValue(key, w => { w.Write((uint)ValueType.Float32); w.Write(value); });

    public void Add(string key, bool value) => AddValue(key, w => { w.Write((uint)ValueType.Bool); w.Write((byte)(value ? 1 : 0)); });

    public void Add(string key, IReadOnlyList<string> values) =>
        AddArray(key, ValueType.String, values.Count, w => { foreach (string value in values) { WriteString(w, value); } });

    public void Add(string key, IReadOnlyList<float> values) =>
        AddArray(key, ValueType.Float32, values.Count, w => { foreach (float value in values) { w.Write(value); } });

    public void Add(string key, IReadOnlyList<int> values) =>
        AddArray(key, ValueType.Int32, values.Count, w => { foreach (int value in values) { w.Write(value); } });

    /// <summary>
    /// Describes a tensor of PyTorch <paramref name="shape"/> (outermost first) stored as <paramref name="type"/>;
    /// <paramref name="produce"/> is called once, while writing, and returns float32 values of that shape.
    /// Temporaries it creates are freed right after the tensor is written.
    /// </summary>
    public void AddTensor(string name, long[] shape, GgufTensorType type, Func<Tensor> produce)
    {
        if (_tensors.Any(t => t.Name == name))
        {
            throw new ArgumentException($"Tensor '{name}' was added twice.", nameof(name));
        }
        long elements = shape.Aggregate(1L, (a, b) => a * b);
        if (GgufTensorEncoding.IsBlockType(type) && shape[^1] % GgufTensorEncoding.Q8BlockSize != 0)
        {
            throw new ArgumentException($"Tensor '{name}' rows of {shape[^1]} values do not divide into {type} blocks of {GgufTensorEncoding.Q8BlockSize}.", nameof(type));
        }
        _tensors.Add(new GgufTensor(name, shape, type, GgufTensorEncoding.ByteCount(type, elements), produce));
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> through a temporary file renamed at the end; a failure or a
    /// cancellation (checked between tensors) deletes the temporary file.
    /// </summary>
    public void Write(string path, CancellationToken cancellationToken = default) => AtomicFile.Write(path, stream => WriteTo(stream, cancellationToken));

    private void WriteTo(Stream stream, CancellationToken cancellationToken)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach ((string key, Action<BinaryWriter> writeValue) in _metadata)
        {
            WriteString(writer, key);
            writeValue(writer);
        }
        long offset = 0;
        foreach (GgufTensor tensor in _tensors)
        {
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Shape.Length);
            // ggml lists dimensions innermost first.
            foreach (long dimension in tensor.Shape.Reverse())
            {
                writer.Write((ulong)dimension);
            }
            writer.Write((uint)tensor.Type);
            writer.Write((ulong)offset);
            offset = Aligned(offset + tensor.Bytes);
        }
        writer.Flush();
        Pad(stream);
        foreach (GgufTensor tensor in _tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var scope = NewDisposeScope())
            {
                Tensor values = tensor.Produce();
                if (!values.shape.SequenceEqual(tensor.Shape))
                {
                    throw new InvalidOperationException($"Tensor '{tensor.Name}' was described as [{string.Join(", ", tensor.Shape)}] but produced [{string.Join(", ", values.shape)}].");
                }
                GgufTensorEncoding.Write(stream, values, tensor.Type);
            }
            Pad(stream);
        }
    }

    private void AddValue(string key, Action<BinaryWriter> writeValue)
    {
        if (!_keys.Add(key))
        {
            throw new ArgumentException($"Metadata key '{key}' was added twice.", nameof(key));
        }
        _metadata.Add((key, writeValue));
    }

    private void AddArray(string key, ValueType elementType, int count, Action<BinaryWriter> writeElements) => AddValue(key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)elementType);
        w.Write((ulong)count);
        writeElements(w);
    });

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static long Aligned(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream)
    {
        long padding = Aligned(stream.Position) - stream.Position;
        stream.Write(new byte[padding]);
    }
}

/// <summary>One tensor of a GGUF file: name, PyTorch shape, stored type, size in bytes, and how to produce its values.</summary>
internal sealed record GgufTensor(string Name, long[] Shape, GgufTensorType Type, long Bytes, Func<Tensor> Produce);
