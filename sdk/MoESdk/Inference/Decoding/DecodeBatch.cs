using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MoESdk.Inference.Kernels;

namespace MoESdk.Inference.Decoding;

/// <summary>
/// Scratch of a decode step of several sequences (<see cref="KernelDecoder"/>'s batched step):
/// per sequence, the addresses of its vectors and the inputs of each product, in arrays pinned for the batch's life
/// because the pool's threads read them; the Mixture-of-Experts layers' <see cref="ExpertGroups"/>. One batch belongs to
/// one step loop at a time and serves one model.
/// </summary>
internal sealed unsafe class DecodeBatch
{
    private readonly List<Array> _pinned = [];
    private readonly GCHandle[] _logitHandles;
    private float[] _pairedArray = [];
    private float[] _hiddenArray = [];
    private int _hiddenStride;
    private ExpertGroups?[] _groups = [];

    /// <param name="capacity">Most sequences in one step.</param>
    public DecodeBatch(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        X = Pointers(capacity);
        Normed = Pointers(capacity);
        Query = Pointers(capacity);
        Key = Pointers(capacity);
        Value = Pointers(capacity);
        Attended = Pointers(capacity);
        Logits = Pointers(capacity);
        Hidden = Pointers(capacity);
        RowInput[] inputs = GC.AllocateArray<RowInput>(capacity, pinned: true);
        _pinned.Add(inputs);
        Inputs = (RowInput*)Unsafe.AsPointer(ref inputs[0]);
        Steps = new IFeedForwardStep[capacity];
        RouterLogits = Pointers(capacity);
        DecodeAttention.Heads[] attention = GC.AllocateArray<DecodeAttention.Heads>(capacity, pinned: true);
        _pinned.Add(attention);
        Attention = (DecodeAttention.Heads*)Unsafe.AsPointer(ref attention[0]);
        _logitHandles = new GCHandle[capacity];
    }

    public int Capacity { get; }

    /// <summary>Each sequence's residual stream.</summary>
    public float** X { get; }

    /// <summary>Each sequence's normalized residual, the input of the next products.</summary>
    public float** Normed { get; }

    public float** Query { get; }

    /// <summary>Where each sequence's new key goes in its cache, for the layer being computed.</summary>
    public float** Key { get; }

    public float** Value { get; }

    public float** Attended { get; }

    public float** Logits { get; }

    /// <summary>Each sequence's router logits of the Mixture-of-Experts layer being computed.</summary>
    public float** RouterLogits { get; }

    /// <summary>Each sequence's attention of the layer being computed.</summary>
    public DecodeAttention.Heads* Attention { get; }

    /// <summary>Each sequence's hidden activations of a dense feed-forward block.</summary>
    public float** Hidden { get; }

    /// <summary>Each sequence's input of the product being computed, as its rows read it.</summary>
    public RowInput* Inputs { get; }

    /// <summary>Paired-input scratch, <see cref="PairedStride"/> floats per sequence.</summary>
    public float* Paired { get; private set; }

    public int PairedStride { get; private set; }

    /// <summary>Each sequence's feed-forward step of the layer being computed.</summary>
    public IFeedForwardStep[] Steps { get; }

    /// <summary>Sizes the scratch for a model whose widest product input is <paramref name="width"/> and whose widest dense hidden layer is <paramref name="hidden"/>.</summary>
    public void Prepare(int width, int hidden, int layers)
    {
        if (PairedStride < width)
        {
            _pairedArray = GC.AllocateArray<float>(Capacity * width, pinned: true);
            Paired = (float*)Unsafe.AsPointer(ref _pairedArray[0]);
            PairedStride = width;
        }
        if (_hiddenStride < hidden)
        {
            _hiddenArray = GC.AllocateArray<float>(Capacity * hidden, pinned: true);
            _hiddenStride = hidden;
        }
        if (_groups.Length < layers)
        {
            Array.Resize(ref _groups, layers);
        }
    }

    /// <summary>Sequence <paramref name="sequence"/>'s dense hidden scratch.</summary>
    public float* HiddenScratch(int sequence) =>
        _hiddenStride == 0 ? null : (float*)Unsafe.AsPointer(ref _hiddenArray[sequence * _hiddenStride]);

    /// <summary>The expert groups of Mixture-of-Experts layer <paramref name="layer"/>, made by <paramref name="create"/> the first time.</summary>
    public ExpertGroups Groups(int layer, Func<int, ExpertGroups> create) => _groups[layer] ??= create(Capacity);

    /// <summary>Pins a sequence's logits for the step; <see cref="Unpin"/> releases them.</summary>
    public float* Pin(int sequence, float[] logits)
    {
        _logitHandles[sequence] = GCHandle.Alloc(logits, GCHandleType.Pinned);
        return (float*)_logitHandles[sequence].AddrOfPinnedObject();
    }

    public void Unpin(int count)
    {
        for (int s = 0; s < count; s++)
        {
            if (_logitHandles[s].IsAllocated)
            {
                _logitHandles[s].Free();
            }
        }
    }

    private float** Pointers(int count)
    {
        nint[] array = GC.AllocateArray<nint>(count, pinned: true);
        _pinned.Add(array);
        return (float**)Unsafe.AsPointer(ref array[0]);
    }
}
