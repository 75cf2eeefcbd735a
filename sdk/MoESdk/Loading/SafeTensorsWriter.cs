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
        string[] names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        byte[] header = BuildHeader(names, tensors, metadata, storeAs);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (string name in names)
            {
                using var scope = NewDisposeScope();
                Tensor tensor = tensors[name];
                TensorBytes.Write(stream, storeAs is { } type ? tensor.to(type) : tensor);
            }
        });
    }

    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata, ScalarType? storeAs)
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
            foreach (string name in names)
            {
                Tensor tensor = tensors[name];
                ScalarType type = storeAs ?? tensor.dtype;
                string dtype = SafeTensorsDTypes.FromScalarType(type)
                    ?? throw new ArgumentException($"Tensor '{name}' would be stored as {type}; only Float32, Float16 and BFloat16 are written.", nameof(tensors));
                long bytes = tensor.numel() * SafeTensorsDTypes.ElementSize(dtype)!.Value;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long dimension in tensor.shape)
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
