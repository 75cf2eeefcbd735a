using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// The header of a GGUF file (llama.cpp's format, versions 2 and 3): its metadata and tensor descriptions, every
/// length and offset checked against the file before use, and float32 copies of tensors stored as F32, F16,
/// BF16 or Q8_0. Other (quantized) types are refused by name.
/// </summary>
internal sealed class GgufFile : IDisposable
{
    private const uint Magic = 0x46554747; // "GGUF"
    private const int MaxDimensions = 4;

    private static readonly Dictionary<uint, string> TypeNames = new()
    {
        [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [6] = "Q5_0", [7] = "Q5_1", [8] = "Q8_0", [9] = "Q8_1",
        [10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K", [13] = "Q5_K", [14] = "Q6_K", [15] = "Q8_K", [16] = "IQ2_XXS",
        [17] = "IQ2_XS", [18] = "IQ3_XXS", [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S", [22] = "IQ2_S", [23] = "IQ4_XS",
        [24] = "I8", [25] = "I16", [26] = "I32", [27] = "I64", [28] = "F64", [29] = "IQ1_M", [30] = "BF16",
    };

    private readonly MappedFile _file;
    private long _position;

    private GgufFile(MappedFile file) => _file = file;

    public string Path => _file.Path;

    public Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, (long[] Shape, uint Type, long Offset)> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>Opens and parses the header of <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Not GGUF, truncated, or inconsistent; the message says where.</exception>
    public static GgufFile Open(string path)
    {
        var gguf = new GgufFile(MappedFile.Open(path));
        try
        {
            gguf.ReadHeader();
            return gguf;
        }
        catch
        {
            gguf.Dispose();
            throw;
        }
    }

    public string? String(string key) => Metadata.GetValueOrDefault(key) as string;

    public long? Integer(string key) => Metadata.GetValueOrDefault(key) switch
    {
        uint u => u,
        int i => i,
        ulong ul when ul <= long.MaxValue => (long)ul,
        long l => l,
        ushort us => us,
        short s => s,
        byte b => b,
        sbyte sb => sb,
        _ => null,
    };

    public double? Number(string key) => Metadata.GetValueOrDefault(key) switch
    {
        // Shortest round-trip text: a float32 1e-5 reads back as the double 1e-5 it was written from.
        float f => double.Parse(f.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture),
        double d => d,
        _ => Integer(key),
    };

    public int RequiredInt(string key) => Integer(key) is { } value and > 0 and <= int.MaxValue
        ? (int)value
        : throw new ModelFormatException(Path, $"metadata key '{key}' is missing or not a positive integer");

    /// <summary>The tensor <paramref name="name"/> as float32 of <paramref name="shape"/> (PyTorch order).</summary>
    public Tensor Read(string name, long[] shape)
    {
        if (!Tensors.TryGetValue(name, out var info))
        {
            throw new ModelFormatException(Path, $"tensor '{name}' is missing");
        }
        if (!info.Shape.SequenceEqual(shape))
        {
            throw new ModelFormatException(Path, $"tensor '{name}' has shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        return info.Type switch
        {
            0 => _file.ReadTensor(info.Offset, shape, ScalarType.Float32),
            1 => Widen(_file.ReadTensor(info.Offset, shape, ScalarType.Float16)),
            30 => Widen(_file.ReadTensor(info.Offset, shape, ScalarType.BFloat16)),
            8 => DequantizeQ8(info.Offset, shape),
            _ => throw new ModelFormatException(Path, $"tensor '{name}' is {TypeName(info.Type)}, which is not read; convert the GGUF to F32, F16, BF16 or Q8_0 first"),
        };
    }

    private static Tensor Widen(Tensor half)
    {
        using (half)
        {
            return half.to(ScalarType.Float32);
        }
    }

    private Tensor DequantizeQ8(long offset, long[] shape)
    {
        long elements = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[elements];
        for (long block = 0; block < elements / 32; block++)
        {
            ReadOnlySpan<byte> bytes = _file.Bytes(offset + block * 34, 34);
            float scale = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes);
            for (int i = 0; i < 32; i++)
            {
                values[block * 32 + i] = scale * (sbyte)bytes[2 + i];
            }
        }
        return tensor(values, shape);
    }

    private static string TypeName(uint type) => TypeNames.TryGetValue(type, out string? name) ? name : $"type {type}";

    private static long BytesOf(uint type, long elements, long rowLength) => type switch
    {
        0 => elements * 4,
        1 or 30 => elements * 2,
        8 when rowLength % 32 == 0 => elements / 32 * 34,
        8 => -1,
        _ => 0, // refused when read; its extent is not checked
    };

    private void ReadHeader()
    {
        if (_file.Length < 24 || UInt32() != Magic)
        {
            throw Error("is not a GGUF file (no 'GGUF' magic)");
        }
        uint version = UInt32();
        if (version is not (2 or 3))
        {
            throw Error($"is GGUF version {version}; versions 2 and 3 are read");
        }
        ulong tensorCount = UInt64(), metadataCount = UInt64();
        // Every entry takes at least 8 bytes, so counts beyond the file size are corrupt, not just large.
        if (tensorCount > (ulong)_file.Length / 8 || metadataCount > (ulong)_file.Length / 8)
        {
            throw Error($"claims {tensorCount} tensors and {metadataCount} metadata entries, more than the file can hold: truncated or corrupt");
        }
        for (ulong i = 0; i < metadataCount; i++)
        {
            string key = ReadString();
            Metadata[key] = ReadValue(UInt32(), depth: 0);
        }
        var infos = new List<(string Name, long[] Shape, uint Type, long Offset)>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = ReadString();
            uint dimensions = UInt32();
            if (dimensions is 0 or > MaxDimensions)
            {
                throw Error($"tensor '{name}' has {dimensions} dimensions");
            }
            var shape = new long[dimensions];
            for (int d = 0; d < dimensions; d++)
            {
                ulong size = UInt64();
                if (size is 0 or > int.MaxValue)
                {
                    throw Error($"tensor '{name}' has a dimension of {size}");
                }
                shape[dimensions - 1 - d] = (long)size; // ggml lists the innermost first
            }
            uint type = UInt32();
            ulong offset = UInt64();
            if (offset > (ulong)_file.Length)
            {
                throw Error($"tensor '{name}' starts at {offset}, past the end of the file");
            }
            infos.Add((name, shape, type, (long)offset));
        }
        long alignment = Integer("general.alignment") ?? 32;
        if (alignment is <= 0 or > 1 << 20)
        {
            throw Error($"general.alignment {alignment} is not a valid alignment");
        }
        long dataStart = (_position + alignment - 1) / alignment * alignment;
        foreach ((string name, long[] shape, uint type, long offset) in infos)
        {
            long elements;
            try
            {
                elements = shape.Aggregate(1L, (a, b) => checked(a * b));
            }
            catch (OverflowException)
            {
                throw Error($"tensor '{name}' of shape [{string.Join(", ", shape)}] is too large");
            }
            long bytes = BytesOf(type, elements, shape[^1]);
            if (bytes < 0)
            {
                throw Error($"tensor '{name}' is Q8_0 with rows of {shape[^1]} values, not a multiple of its 32-value blocks");
            }
            if (dataStart + offset > _file.Length - bytes)
            {
                throw Error($"tensor '{name}' ({bytes} bytes at {dataStart + offset}) runs past the end of the file ({_file.Length} bytes): truncated");
            }
            if (!Tensors.TryAdd(name, (shape, type, dataStart + offset)))
            {
                throw Error($"tensor '{name}' is described twice");
            }
        }
    }

    private object ReadValue(uint type, int depth) => type switch
    {
        0 => Take(1)[0],
        1 => (sbyte)Take(1)[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
        3 => BinaryPrimitives.ReadInt16LittleEndian(Take(2)),
        4 => UInt32(),
        5 => BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
        6 => BinaryPrimitives.ReadSingleLittleEndian(Take(4)),
        7 => Take(1)[0] != 0,
        8 => ReadString(),
        9 when depth == 0 => ReadArray(),
        10 => UInt64(),
        11 => BinaryPrimitives.ReadInt64LittleEndian(Take(8)),
        12 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8)),
        _ => throw Error($"metadata value type {type} at byte {_position} is not valid GGUF"),
    };

    private object[] ReadArray()
    {
        uint elementType = UInt32();
        ulong count = UInt64();
        // Each element takes at least this many bytes, so a count the rest of the file cannot hold is corrupt.
        ulong smallest = elementType switch
        {
            2 or 3 => 2,
            4 or 5 or 6 => 4,
            8 or 10 or 11 or 12 => 8,
            _ => 1,
        };
        if (count > (ulong)(_file.Length - _position) / smallest)
        {
            throw Error($"an array of {count} elements at byte {_position} is longer than the rest of the file: truncated or corrupt");
        }
        var values = new object[count];
        for (ulong i = 0; i < count; i++)
        {
            values[i] = ReadValue(elementType, depth: 1);
        }
        return values;
    }

    private string ReadString()
    {
        ulong length = UInt64();
        if (length > (ulong)(_file.Length - _position) || length > int.MaxValue)
        {
            throw Error($"a string of {length} bytes at byte {_position} runs past the end of the file: truncated or corrupt");
        }
        return Encoding.UTF8.GetString(Take((int)length));
    }

    private uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    private ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    private ReadOnlySpan<byte> Take(int count)
    {
        if (_position > _file.Length - count)
        {
            throw Error($"ends at byte {_file.Length}, inside its header: truncated");
        }
        ReadOnlySpan<byte> bytes = _file.Bytes(_position, count);
        _position += count;
        return bytes;
    }

    private ModelFormatException Error(string problem) => new(Path, problem);

    public void Dispose() => _file.Dispose();
}
