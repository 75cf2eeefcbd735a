using System.IO.MemoryMappedFiles;
using TorchSharp;
using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// A read-only memory map of a model file. Tensors are copied straight from the mapped pages into their
/// own storage, so a checkpoint is never held twice in managed memory.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    // TorchSharp exposes tensor storage as a Span, whose length is an int: copy in pieces below that.
    private const long MaxPieceBytes = 1L << 30;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _start;

    private MappedFile(string path, long length)
    {
        Path = path;
        Length = length;
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _start = pointer + _view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Maps <paramref name="path"/>; a missing or empty file is a <see cref="ModelFormatException"/>.</summary>
    public static MappedFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ModelFormatException(path, "file not found");
        }
        if (info.Length == 0)
        {
            // An empty file cannot be mapped at all; say what is wrong instead of the OS error.
            throw new ModelFormatException(path, "file is empty");
        }
        return new MappedFile(path, info.Length);
    }

    /// <summary>The <paramref name="count"/> bytes at <paramref name="offset"/>, which the caller has bounds-checked.</summary>
    public ReadOnlySpan<byte> Bytes(long offset, int count)
    {
        CheckRange(offset, count);
        return new ReadOnlySpan<byte>(_start + offset, count);
    }

    /// <summary>A new CPU tensor of <paramref name="dtype"/> filled from the bytes at <paramref name="offset"/>.</summary>
    public Tensor ReadTensor(long offset, ReadOnlySpan<long> shape, ScalarType dtype)
    {
        Tensor tensor = empty(shape, dtype);
        long elementSize = tensor.element_size();
        long total = tensor.numel() * elementSize;
        CheckRange(offset, total);
        if (total == 0)
        {
            return tensor;
        }
        using Tensor flat = tensor.view(-1);
        long piece = MaxPieceBytes / elementSize;
        for (long first = 0; first < flat.shape[0]; first += piece)
        {
            long count = Math.Min(piece, flat.shape[0] - first);
            using Tensor target = flat.narrow(0, first, count);
            byte* source = _start + offset + (first * elementSize);
            new ReadOnlySpan<byte>(source, checked((int)(count * elementSize))).CopyTo(target.bytes);
            Release(source, count * elementSize);
        }
        return tensor;
    }

    /// <summary>
    /// Drops copied pages from this process's resident set (Linux): they stay in the page cache, and a later read of
    /// them maps them again, but a model is not counted twice, file and tensors, while it loads.
    /// </summary>
    private static void Release(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        long page = Environment.SystemPageSize;
        long first = (long)start & ~(page - 1);
        long end = ((long)start + length + page - 1) & ~(page - 1);
        _ = Madvise((void*)first, (nuint)(end - first), DontNeed);
    }

    private const int DontNeed = 4;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(void* address, nuint length, int advice);

    private void CheckRange(long offset, long count)
    {
        ObjectDisposedException.ThrowIf(_start == null, this);
        if (offset < 0 || count < 0 || offset > Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + count}) lie outside {Path} ({Length} bytes)");
        }
    }

    public void Dispose()
    {
        if (_start == null)
        {
            return;
        }
        _start = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
