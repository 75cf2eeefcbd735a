using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// Wraps a layer's feed-forward block and keeps (detached copies of) the inputs it sees, up to a token
/// budget: how conversion collects calibration activations without changing what the model computes.
/// </summary>
internal sealed class FeedForwardRecorder : FeedForward
{
    private readonly List<Tensor> _inputs = [];
    private readonly int _maxTokens;

    public FeedForwardRecorder(FeedForward inner, int maxTokens) : base(nameof(FeedForwardRecorder))
    {
        Inner = inner;
        _maxTokens = maxTokens;
        register_module("inner", inner);
    }

    public FeedForward Inner { get; }

    public int RecordedTokens { get; private set; }

    public override long ActiveParameters => Inner.ActiveParameters;

    public override long TotalParameters => Inner.TotalParameters;

    public override IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(int layer) => Inner.NamedWeights(layer);

    /// <summary>The recorded inputs [tokens, hidden]; the caller owns the result.</summary>
    public Tensor Inputs() => cat(_inputs, 0);

    public override Tensor forward(Tensor x)
    {
        Record(x);
        return Inner.forward(x);
    }

    public override Tensor Forward(Tensor x, int layer, RoutingContext routing)
    {
        Record(x);
        return Inner.Forward(x, layer, routing);
    }

    private void Record(Tensor x)
    {
        if (RecordedTokens < _maxTokens)
        {
            Tensor flat = x.detach().reshape(-1, x.shape[^1]);
            long take = Math.Min(flat.shape[0], _maxTokens - RecordedTokens);
            _inputs.Add(flat.narrow(0, 0, take).clone().DetachFromDisposeScope());
            RecordedTokens += (int)take;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inputs.ForEach(t => t.Dispose());
            _inputs.Clear();
        }
        // The wrapped block belongs to the model being recorded, not to the recorder.
    }
}
