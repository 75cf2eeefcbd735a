using System.Buffers.Binary;
using System.Text;
using MoESdk.Loading;
using static TorchSharp.torch;

namespace MoESdk.Tests.Loading;

[Trait("Category", "Unit")]
public class SafeTensorsTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 0.0)]
    [InlineData(ScalarType.Float16, 1e-3)]
    [InlineData(ScalarType.BFloat16, 1e-2)]
    public void RoundTripKeepsValuesShapesAndDType(ScalarType type, double tolerance)
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.weight"] = randn(5, 7).to(type),
            ["b.bias"] = randn(3).to(type),
            ["scalar"] = tensor(2.5f).to(type),
            ["empty"] = zeros(0, 4).to(type),
        };
        string path = folder.File("t.safetensors");

        SafeTensorsWriter.Write(path, tensors);

        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal(tensors.Keys.Order(), file.Entries.Keys.Order());
        foreach ((string name, Tensor expected) in tensors)
        {
            Tensor stored = file.ReadAsStored(name);
            Assert.Equal(type, stored.dtype);
            Assert.True(stored.IsIdenticalTo(expected), name);

            Tensor asFloat = file.Read(name);
            Assert.Equal(ScalarType.Float32, asFloat.dtype);
            Assert.Equal(expected.shape, asFloat.shape);
            Assert.True(asFloat.allclose(expected.to(ScalarType.Float32), rtol: tolerance, atol: tolerance), name);
        }
    }

    [Fact]
    public void WriterConvertsOnRequestKeepsMetadataAndAlignsTheData()
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        string path = folder.File("t.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" };

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(3, 3) }, metadata, ScalarType.BFloat16);

        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 9 * 2, bytes.Length);
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal("BF16", file.Entries["w"].DType);
        Assert.Equal(new long[] { 3, 3 }, file.Entries["w"].Shape);
    }

    [Fact]
    public void ReadsAFileWrittenByHand()
    {
        // Layout of the reference implementation, not of our writer: checks we follow the format, not ourselves.
        using var folder = new TempFolder();
        string path = folder.File("hand.safetensors");
        float[] values = [1f, -2f, 3.5f, 4f];
        WriteRaw(path, """{"__metadata__":{"k":"v"},"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""",
            values.SelectMany(BitConverter.GetBytes).ToArray());

        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        using Tensor x = file.Read("x");
        Assert.Equal(values, x.data<float>().ToArray());
        Assert.Equal("v", file.Metadata["k"]);
    }

    [Fact]
    public void ShardedIndexRoutesEachTensorToItsShard()
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        Tensor a = randn(4, 4), b = randn(2);
        SafeTensorsWriter.Write(folder.File("model-00001-of-00002.safetensors"), new Dictionary<string, Tensor> { ["a"] = a });
        SafeTensorsWriter.Write(folder.File("model-00002-of-00002.safetensors"), new Dictionary<string, Tensor> { ["b"] = b });
        File.WriteAllText(folder.File(SafeTensorsCheckpoint.IndexFileName),
            """{"metadata":{"total_size":72},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}""");

        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(folder.File(SafeTensorsCheckpoint.IndexFileName));

        Assert.Equal(["a", "b"], checkpoint.Names.Order());
        Assert.True(checkpoint.Read("a").IsIdenticalTo(a));
        Assert.True(checkpoint.Read("b").IsIdenticalTo(b));
    }

    [Fact]
    public void IndexNamingAMissingShardOrTensorIsReported()
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        SafeTensorsWriter.Write(folder.File("s1.safetensors"), new Dictionary<string, Tensor> { ["a"] = ones(1) });
        string index = folder.File(SafeTensorsCheckpoint.IndexFileName);

        File.WriteAllText(index, """{"weight_map":{"a":"s2.safetensors"}}""");
        Assert.Contains("shard 's2.safetensors'", Assert.Throws<ModelFormatException>(() => SafeTensorsCheckpoint.Open(index)).Message);

        File.WriteAllText(index, """{"weight_map":{"zz":"s1.safetensors"}}""");
        Assert.Contains("'zz' is missing", Assert.Throws<ModelFormatException>(() => SafeTensorsCheckpoint.Open(index)).Message);

        File.WriteAllText(index, """{"weight_map":{"a":"../s1.safetensors"}}""");
        Assert.Contains("same folder", Assert.Throws<ModelFormatException>(() => SafeTensorsCheckpoint.Open(index)).Message);
    }

    public static TheoryData<string, byte[], string> CorruptFiles => new()
    {
        { "tiny", [1, 2, 3], "too short" },
        { "length beyond file", Prefix(1000, "{}"), "header length 1000 is invalid" },
        { "negative length", Prefix(-5, "{}"), "header length -5 is invalid" },
        { "length above cap", Prefix(SafeTensorsFile.MaxHeaderBytes + 1, "{}"), "header length" },
        { "bad json", Prefix("{\"x\": [1,"), "not valid JSON" },
        { "not an object", Prefix("[1, 2]"), "not a JSON object" },
        { "missing dtype", Prefix("""{"x":{"shape":[1],"data_offsets":[0,4]}}"""), "\"dtype\" is missing" },
        { "unknown dtype", Prefix("""{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"""), "unknown dtype 'F33'" },
        { "negative shape", Prefix("""{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"""), "non-negative integers" },
        { "offsets beyond file", Prefix("""{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8), "outside the data section of 8 bytes" },
        { "size mismatch", Prefix("""{"x":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}}""", 16), "needs 8" },
        { "bad metadata", Prefix("""{"__metadata__":{"a":1}}"""), "is not a string" },
        { "one offset", Prefix("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 4), "two numbers" },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFileGivesAMessageNamingFileAndProblem(string label, byte[] content, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File("bad.safetensors");
        File.WriteAllBytes(path, content);

        var error = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path).Dispose());

        Assert.Equal(path, error.Path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, error.Message, StringComparison.Ordinal);
        Assert.NotNull(label);
    }

    [Fact]
    public void ReadingAnUnsupportedDTypeSaysWhichAreSupported()
    {
        using var folder = new TempFolder();
        string path = folder.File("ints.safetensors");
        WriteRaw(path, """{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        using SafeTensorsFile file = SafeTensorsFile.Open(path);

        var error = Assert.Throws<ModelFormatException>(() => file.Read("i"));

        Assert.Contains("I64", error.Message, StringComparison.Ordinal);
        Assert.Contains("F32, F16, BF16", error.Message, StringComparison.Ordinal);
    }

    private static void WriteRaw(string path, string header, byte[] data) => File.WriteAllBytes(path, Prefix(header, data.Length).Take(8 + Encoding.UTF8.GetByteCount(header)).Concat(data).ToArray());

    private static byte[] Prefix(string header, int dataBytes = 0)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        return Prefix(json.Length, json, dataBytes);
    }

    private static byte[] Prefix(long length, string header) => Prefix(length, Encoding.UTF8.GetBytes(header), 0);

    private static byte[] Prefix(long length, byte[] json, int dataBytes)
    {
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, length);
        json.CopyTo(bytes, 8);
        return bytes;
    }
}
