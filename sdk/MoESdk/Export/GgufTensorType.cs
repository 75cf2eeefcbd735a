namespace MoESdk.Export;

/// <summary>The ggml tensor types the GGUF writer can encode, with their numbers in the file format.</summary>
internal enum GgufTensorType
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    BF16 = 30,
}
