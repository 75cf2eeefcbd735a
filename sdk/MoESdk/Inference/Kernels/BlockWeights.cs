using System.Runtime.InteropServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// A float32 weight matrix quantized in blocks of <see cref="Int8Matrix.BlockSize"/> weights along a row, each block
/// with one float32 scale, in aligned native memory: the buffers and the block loop that <see cref="Int8Weights"/> and
/// <see cref="Int4Weights"/> share. Owns its buffers.
/// </summary>
internal abstract unsafe class BlockWeights : IDisposable
{
    private const nuint Alignment = 64;

    private byte* _values;
    private float* _scales;

    /// <param name="source">The matrix to quantize; its width must be a whole number of blocks.</param>
    /// <param name="blockBytes">Bytes of one block's values.</param>
    /// <param name="quantizeBlock">Writes one block's values from its 32 weights and returns its scale.</param>
    /// <param name="name">The format, as an error names it ("int8", "int4").</param>
    protected BlockWeights(FloatMatrix source, int blockBytes, delegate*<float*, byte*, float> quantizeBlock, string name)
    {
        if (!CanQuantize(source.Cols))
        {
            throw new ArgumentException($"{name} weights need a width that is a multiple of {Int8Matrix.BlockSize}; this matrix is {source.Cols} wide.", nameof(source));
        }
        long blocks = (long)source.Rows * (source.Cols / Int8Matrix.BlockSize);
        _values = (byte*)NativeMemory.AlignedAlloc((nuint)(blocks * blockBytes), Alignment);
        _scales = (float*)NativeMemory.AlignedAlloc((nuint)blocks * sizeof(float), Alignment);
        Rows = source.Rows;
        Cols = source.Cols;
        Quantize(source, _values, _scales, blockBytes, quantizeBlock);
    }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>The kernels' view of the buffers; valid until this object is disposed.</summary>
    public abstract WeightMatrix View { get; }

    /// <summary>The values; throws once disposed.</summary>
    protected byte* Values
    {
        get
        {
            ObjectDisposedException.ThrowIf(_values == null, this);
            return _values;
        }
    }

    /// <summary>The scales, one per block, row-major.</summary>
    protected float* Scales => _scales;

    /// <summary>Whether a matrix <paramref name="cols"/> wide splits into whole blocks.</summary>
    public static bool CanQuantize(int cols) => cols > 0 && cols % Int8Matrix.BlockSize == 0;

    /// <summary>
    /// Quantizes <paramref name="source"/> (width a multiple of the block size) block by block into
    /// <paramref name="values"/> (<paramref name="blockBytes"/> a block) and <paramref name="scales"/> (one per block, row-major).
    /// </summary>
    protected static void Quantize(FloatMatrix source, byte* values, float* scales, int blockBytes, delegate*<float*, byte*, float> quantizeBlock)
    {
        long blocks = (long)source.Rows * (source.Cols / Int8Matrix.BlockSize);
        for (long b = 0; b < blocks; b++)
        {
            scales[b] = quantizeBlock(source.Data + (b * Int8Matrix.BlockSize), values + (b * blockBytes));
        }
    }

    public void Dispose()
    {
        if (_values != null)
        {
            NativeMemory.AlignedFree(_values);
            NativeMemory.AlignedFree(_scales);
            _values = null;
            _scales = null;
        }
    }
}
