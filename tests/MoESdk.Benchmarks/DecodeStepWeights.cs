using MoESdk.Inference.Kernels;
using static TorchSharp.torch;

/// <summary>
/// Random weights of a whole decode step's matrices (every layer's attention and FFN projections plus the
/// output head) and the matrix-vector products of one token through them, done four ways.
/// </summary>
internal sealed class DecodeStepWeights : IDisposable
{
    private readonly List<Tensor> _tensors = [];
    private readonly List<BFloat16Weights> _halves = [];
    private readonly Layer[] _layers;
    private readonly FloatMatrix _head;
    private readonly BFloat16Matrix _headHalf;
    private readonly Tensor _xTensor;
    private readonly Tensor _hTensor;
    private readonly float[] _x;
    private readonly float[] _q, _k, _v, _o, _gate, _up, _hidden, _logits;

    public DecodeStepWeights(int layers, int dim, int hidden, int vocab)
    {
        _layers = new Layer[layers];
        for (int l = 0; l < layers; l++)
        {
            _layers[l] = new Layer(
                Matrix(dim, dim, out Tensor q), Matrix(dim, dim, out Tensor k), Matrix(dim, dim, out Tensor v), Matrix(dim, dim, out Tensor o),
                Matrix(hidden, dim, out Tensor gate), Matrix(hidden, dim, out Tensor up), Matrix(dim, hidden, out Tensor down),
                [q, k, v, o, gate, up, down],
                [Half(q), Half(k), Half(v), Half(o), Half(gate), Half(up), Half(down)]);
        }
        _head = Matrix(vocab, dim, out Tensor head);
        _headHalf = Half(head);
        Bytes = _tensors.Sum(t => t.numel()) * sizeof(float);
        _xTensor = randn(dim);
        _hTensor = randn(hidden);
        _x = _xTensor.data<float>().ToArray();
        _q = new float[dim];
        _k = new float[dim];
        _v = new float[dim];
        _o = new float[dim];
        _gate = new float[hidden];
        _up = new float[hidden];
        _hidden = new float[hidden];
        _logits = new float[vocab];
    }

    public long Bytes { get; }

    public void Torch()
    {
        foreach (Layer layer in _layers)
        {
            for (int i = 0; i < layer.Tensors.Length; i++)
            {
                mv(layer.Tensors[i], i == 6 ? _hTensor : _xTensor).Dispose();
            }
        }
        mv(_tensors[^1], _xTensor).Dispose();
    }

    /// <summary>One dispatch per matrix.</summary>
    public void Kernels(ComputePool pool)
    {
        foreach (Layer layer in _layers)
        {
            MatVec.Multiply(pool, layer.Q, _x, _q);
            MatVec.Multiply(pool, layer.K, _x, _k);
            MatVec.Multiply(pool, layer.V, _x, _v);
            MatVec.Multiply(pool, layer.O, _q, _o);
            MatVec.Multiply(pool, layer.Gate, _o, _gate);
            MatVec.Multiply(pool, layer.Up, _o, _up);
            MatVec.Multiply(pool, layer.Down, _up, _o);
        }
        MatVec.Multiply(pool, _head, _x, _logits);
    }

    /// <summary>Shared-input q,k,v in one dispatch and the FFN as the fused SwiGLU kernel: four dispatches per layer.</summary>
    public void Fused(ComputePool pool)
    {
        foreach (Layer layer in _layers)
        {
            MatVec.Multiply(pool, _x, layer.Q, _q, layer.K, _k, layer.V, _v);
            MatVec.Multiply(pool, layer.O, _q, _o);
            SwiGluFeedForward.Accumulate(pool, layer.FeedForward, _o, _hidden, 1f, _q);
        }
        MatVec.Multiply(pool, _head, _x, _logits);
    }

    public void BFloat16(ComputePool pool)
    {
        foreach (Layer layer in _layers)
        {
            MatVec.Multiply(pool, layer.Halves[0], _x, _q);
            MatVec.Multiply(pool, layer.Halves[1], _x, _k);
            MatVec.Multiply(pool, layer.Halves[2], _x, _v);
            MatVec.Multiply(pool, layer.Halves[3], _q, _o);
            MatVec.Multiply(pool, layer.Halves[4], _o, _gate);
            MatVec.Multiply(pool, layer.Halves[5], _o, _up);
            MatVec.Multiply(pool, layer.Halves[6], _up, _o);
        }
        MatVec.Multiply(pool, _headHalf, _x, _logits);
    }

    private FloatMatrix Matrix(int rows, int cols, out Tensor tensor)
    {
        tensor = randn(rows, cols) / 32;
        _tensors.Add(tensor);
        return TensorMemory.Matrix(tensor);
    }

    private BFloat16Matrix Half(Tensor tensor)
    {
        var half = BFloat16Weights.FromTensor(tensor);
        _halves.Add(half);
        return half.Matrix;
    }

    public void Dispose()
    {
        _tensors.ForEach(t => t.Dispose());
        _halves.ForEach(h => h.Dispose());
        _xTensor.Dispose();
        _hTensor.Dispose();
    }

    private sealed record Layer(
        FloatMatrix Q, FloatMatrix K, FloatMatrix V, FloatMatrix O, FloatMatrix Gate, FloatMatrix Up, FloatMatrix Down,
        Tensor[] Tensors, BFloat16Matrix[] Halves)
    {
        public SwiGluWeights FeedForward => new(Gate, Up, Down);
    }
}
