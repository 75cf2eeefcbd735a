namespace MoESdk.Inference;

/// <summary>
/// The precision the decode kernels read the weight matrices in. Decode streams every weight once per token, so
/// fewer bytes per weight is proportionally faster; prefill and the TorchSharp path keep float32.
/// </summary>
public enum DecodePrecision
{
    /// <summary>The weights as loaded (float32): the reference.</summary>
    Float32,

    /// <summary>bfloat16 copies (rounded to nearest even): half the bytes, about three significant digits.</summary>
    BFloat16,

    /// <summary>
    /// int8 in blocks of 32 weights along a row, each block with its own float32 scale (max |w| / 127), as llama.cpp's
    /// q8_0: about a quarter of the bytes. Matrices whose width is not a multiple of 32 stay float32.
    /// </summary>
    Int8,

    /// <summary>
    /// 4-bit values in blocks of 32 weights along a row, each block with its own scale, as llama.cpp's q4_0 (the value of
    /// largest magnitude maps to −8; the scale is rounded to half precision as q4_0 stores it): about an eighth of the
    /// bytes, with a larger loss of quality than int8 (see docs/RESULTS.md). Matrices whose width is not a multiple of
    /// 32 stay float32.
    /// </summary>
    Int4,
}
