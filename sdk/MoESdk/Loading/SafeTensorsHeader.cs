using System.Text.Json;

namespace MoESdk.Loading;

/// <summary>
/// The JSON header of a safetensors file, parsed and checked against the size of the data section that
/// follows it, so that no later read can run outside the file or misread a tensor's bytes.
/// </summary>
internal sealed class SafeTensorsHeader
{
    private const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Parses <paramref name="json"/>; every problem is a <see cref="ModelFormatException"/> naming <paramref name="path"/>.</summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw new ModelFormatException(path, "safetensors header is not UTF-8 text; the file is corrupt or not a safetensors file");
        }
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException exception)
        {
            throw new ModelFormatException(path, $"safetensors header is not valid JSON ({exception.Message}); the file is corrupt or not a safetensors file", exception);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(path, "safetensors header is not a JSON object");
            }
            var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, path);
                }
                else if (!entries.TryAdd(property.Name, ReadEntry(property, dataLength, path)))
                {
                    throw new ModelFormatException(path, $"safetensors header names tensor '{property.Name}' twice");
                }
            }
            CheckDisjoint(entries.Values, path);
            return new SafeTensorsHeader(entries, metadata);
        }
    }

    // Two tensors over the same bytes are not something any writer produces: a header that says so is
    // corrupt or crafted, and writing through one tensor would change the other.
    private static void CheckDisjoint(IEnumerable<SafeTensorsEntry> entries, string path)
    {
        SafeTensorsEntry? previous = null;
        foreach (SafeTensorsEntry entry in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
            {
                throw new ModelFormatException(path,
                    $"safetensors tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{entry.Name}' [{entry.Begin}, {entry.End}) share bytes; the file is corrupt");
            }
            previous = entry;
        }
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, $"safetensors '{MetadataKey}' must be an object of strings");
        }
        foreach (JsonProperty item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new ModelFormatException(path, $"safetensors '{MetadataKey}' value '{item.Name}' is not a string");
            }
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafeTensorsEntry ReadEntry(JsonProperty property, long dataLength, string path)
    {
        string name = property.Name;
        JsonElement entry = property.Value;
        ModelFormatException Bad(string problem) => new(path, $"safetensors tensor '{name}': {problem}");

        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw Bad("entry is not a JSON object");
        }
        if (!entry.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Bad("\"dtype\" is missing or not a string");
        }
        string dtype = dtypeElement.GetString()!;
        int elementSize = SafeTensorsDTypes.ElementSize(dtype) ?? throw Bad($"unknown dtype '{dtype}'");

        long[] shape = ReadNonNegativeIntegers(entry, "shape", Bad);
        long[] offsets = ReadNonNegativeIntegers(entry, "data_offsets", Bad);
        if (offsets.Length != 2)
        {
            throw Bad($"\"data_offsets\" must hold two numbers [begin, end], found {offsets.Length}");
        }
        (long begin, long end) = (offsets[0], offsets[1]);
        if (begin > end || end > dataLength)
        {
            throw Bad($"data_offsets [{begin}, {end}] lie outside the data section of {dataLength} bytes; the file is truncated or corrupt");
        }

        long expectedBytes;
        try
        {
            expectedBytes = checked(shape.Aggregate(1L, (product, dimension) => checked(product * dimension)) * elementSize);
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] is too large");
        }
        if (end - begin != expectedBytes)
        {
            throw Bad($"data_offsets [{begin}, {end}] span {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtype} needs {expectedBytes}");
        }
        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    private static long[] ReadNonNegativeIntegers(JsonElement entry, string key, Func<string, ModelFormatException> bad)
    {
        if (!entry.TryGetProperty(key, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            throw bad($"\"{key}\" is missing or not an array");
        }
        var values = new long[array.GetArrayLength()];
        int index = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long value) || value < 0)
            {
                throw bad($"\"{key}\" must hold non-negative integers, found {item.GetRawText()}");
            }
            values[index++] = value;
        }
        return values;
    }
}
