using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Writes named tensors as a <c>.safetensors</c> file readable by the Hugging Face implementation and by
/// <see cref="SafeTensorsFile"/>. The header is padded with spaces to a multiple of 8 bytes, as the
/// reference writer does, so the data section starts aligned for memory-mapped readers.
/// </summary>
internal static class SafeTensorsWriter
{
    private const int Alignment = 8;

    /// <summary>
    /// Writes <paramref name="tensors"/> (F32, F16 or BF16) in name order, each in its own dtype, or all in
    /// <paramref name="storeAs"/> when given. The file appears at <paramref name="path"/> only once complete.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, ScalarType? storeAs = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors.Keys.Order(StringComparer.Ordinal)
            .Select(name => new Output(name, tensors[name].shape, storeAs ?? tensors[name].dtype, () => tensors[name]))
            .ToArray(), metadata);
    }

    /// <summary>One tensor to write: its shape and stored type up front (for the header), its values produced when written.</summary>
    public sealed record Output(string Name, long[] Shape, ScalarType StoreAs, Func<Tensor> Produce);

    /// <summary>
    /// Writes <paramref name="tensors"/> in the given order, producing each only when its turn comes and releasing it
    /// before the next, so a model derived on the fly is never held twice. The file appears at <paramref name="path"/>
    /// only once complete; <paramref name="cancellationToken"/> stops between tensors, leaving no file.
    /// </summary>
    public static void Write(string path, IReadOnlyList<Output> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        byte[] header = BuildHeader(tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (Output output in tensors)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                Tensor tensor = output.Produce();
                if (!tensor.shape.SequenceEqual(output.Shape))
                {
                    throw new InvalidOperationException($"Tensor '{output.Name}' was produced as [{string.Join(",", tensor.shape)}], declared [{string.Join(",", output.Shape)}].");
                }
                TensorBytes.Write(stream, tensor, output.StoreAs);
            }
        });
    }

    private static byte[] BuildHeader(IReadOnlyList<Output> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach ((string key, string value) in metadata)
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (Output output in tensors)
            {
                string dtype = SafeTensorsDTypes.FromScalarType(output.StoreAs)
                    ?? throw new ArgumentException($"Tensor '{output.Name}' would be stored as {output.StoreAs}; only Float32, Float16 and BFloat16 are written.", nameof(tensors));
                long bytes = output.Shape.Aggregate(1L, (a, b) => a * b) * SafeTensorsDTypes.ElementSize(dtype)!.Value;
                json.WriteStartObject(output.Name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long dimension in output.Shape)
                {
                    json.WriteNumberValue(dimension);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padding = (Alignment - (int)(buffer.Length % Alignment)) % Alignment;
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return buffer.ToArray();
    }
}
