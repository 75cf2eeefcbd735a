using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// The tokens of a decode step of several sequences through one Mixture-of-Experts layer, grouped by expert: each
/// token's experts are added as <see cref="ExpertBatch"/> takes them, then the gate and up rows of every expert chosen
/// in the step are read once and applied to all the tokens that chose it, and each output row block of the down
/// projections is summed per token over its own experts while those rows are in cache. Each token's sums run in the
/// order <see cref="ExpertBatch"/> runs them for that token alone, so its output is bit for bit the same. Two pool
/// dispatches per layer for the whole step. Scratch in arrays pinned for its lifetime; one belongs to one step loop.
/// </summary>
internal sealed unsafe class ExpertGroups
{
    private readonly int _maxTokens;
    private readonly int _experts;
    private readonly int _perToken;
    private readonly int _maxHidden;
    private readonly int _dim;
    private readonly SwiGluWeights* _weights;
    private readonly int* _tokenCount;
    private readonly int* _slotExpert;
    private readonly float* _slotScale;
    private readonly int* _slotOffset;
    private readonly float* _hidden;
    private readonly float* _pairedHidden;
    private readonly float* _pairedX;
    private readonly RowInput* _gateInputs;
    private readonly RowInput* _downInputs;
    private readonly int* _groupExpert;
    private readonly int* _groupRows;
    private readonly int* _groupStart;
    private readonly int* _assigned;
    private readonly Assignment* _assignments;
    private readonly int* _perExpert;
    private readonly List<Array> _pinned = [];
    private int _tokens;

    /// <param name="maxTokens">Most tokens (sequences) per step.</param>
    /// <param name="experts">The layer's experts (routed and shared), numbered 0..experts-1.</param>
    /// <param name="perToken">Most experts one token runs (chosen plus shared).</param>
    /// <param name="maxHidden">The widest sum of hidden widths one token's experts can have.</param>
    /// <param name="dim">The model width.</param>
    public ExpertGroups(int maxTokens, int experts, int perToken, int maxHidden, int dim)
    {
        _maxTokens = maxTokens;
        _experts = experts;
        _perToken = perToken;
        _maxHidden = maxHidden;
        _dim = dim;
        _weights = Pinned<SwiGluWeights>(experts);
        _tokenCount = Pinned<int>(maxTokens);
        _slotExpert = Pinned<int>(maxTokens * perToken);
        _slotScale = Pinned<float>(maxTokens * perToken);
        _slotOffset = Pinned<int>(maxTokens * (perToken + 1));
        _hidden = Pinned<float>(maxTokens * maxHidden);
        _pairedHidden = Pinned<float>(maxTokens * maxHidden);
        _pairedX = Pinned<float>(maxTokens * dim);
        _gateInputs = Pinned<RowInput>(maxTokens);
        _downInputs = Pinned<RowInput>(maxTokens * perToken);
        _groupExpert = Pinned<int>(experts);
        _groupRows = Pinned<int>(experts + 1);
        _groupStart = Pinned<int>(experts + 1);
        _assigned = Pinned<int>(maxTokens * perToken);
        _assignments = Pinned<Assignment>(maxTokens * perToken);
        _perExpert = Pinned<int>(experts);
    }

    // The pinned object heap never moves an array, so its address holds while this object keeps the array.
    private T* Pinned<T>(int length)
        where T : unmanaged
    {
        T[] array = GC.AllocateArray<T>(Math.Max(1, length), pinned: true);
        _pinned.Add(array);
        return (T*)Unsafe.AsPointer(ref array[0]);
    }

    /// <summary>Starts a step of <paramref name="tokens"/> tokens.</summary>
    public void Clear(int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens, _maxTokens);
        _tokens = tokens;
        for (int t = 0; t < tokens; t++)
        {
            _tokenCount[t] = 0;
            _slotOffset[t * (_perToken + 1)] = 0;
        }
    }

    /// <summary>Adds expert <paramref name="expert"/> to <paramref name="token"/>'s sum, counting <paramref name="scale"/> times.</summary>
    public void Add(int token, int expert, in SwiGluWeights weights, float scale)
    {
        int slot = _tokenCount[token];
        int* offsets = _slotOffset + (token * (_perToken + 1));
        if (slot == _perToken || offsets[slot] + weights.Hidden > _maxHidden || (uint)expert >= (uint)_experts)
        {
            throw new InvalidOperationException($"A token of the expert groups holds {_perToken} of {_experts} experts, {_maxHidden} hidden units in all.");
        }
        if (weights.Dim != _dim)
        {
            throw new ArgumentException($"An expert of width {weights.Dim} joins experts of width {_dim}.", nameof(weights));
        }
        _weights[expert] = weights;
        _slotExpert[(token * _perToken) + slot] = expert;
        _slotScale[(token * _perToken) + slot] = scale;
        offsets[slot + 1] = offsets[slot] + weights.Hidden;
        _tokenCount[token] = slot + 1;
    }

    /// <summary>y_t += Σ scale · FFN_e(x_t) over each token's experts; x and y hold one pointer per token.</summary>
    public void Accumulate(ComputePool pool, float** x, float** y)
    {
        if (_tokens == 0)
        {
            return;
        }
        int groups = Group();
        if (groups == 0)
        {
            return;
        }
        WeightMatrix gate = _weights[_groupExpert[0]].Gate;
        MultiVec.Inputs(gate, x, _tokens, _pairedX, _dim, _gateInputs);
        // Resolved once per step: the gate/up loop visits each assignment once per row pair.
        for (int a = 0; a < _groupStart[groups]; a++)
        {
            _assignments[a] = Assigned(a);
        }
        pool.Run(new GatedRows(this), _groupRows[groups], MatVec.RowBlock / 2);
        for (int t = 0; t < _tokens; t++)
        {
            int* offsets = _slotOffset + (t * (_perToken + 1));
            for (int j = 0; j < _tokenCount[t]; j++)
            {
                nint at = ((nint)t * _maxHidden) + offsets[j];
                _downInputs[(t * _perToken) + j] = RowInput.For(_weights[_slotExpert[(t * _perToken) + j]].Down, _hidden + at, _pairedHidden + at);
            }
        }
        pool.Run(new DownRows(this, y), _dim, MatVec.RowBlock);
    }

    // The experts chosen in this step in order of their number, each with the (token, slot) pairs that chose it.
    private int Group()
    {
        new Span<int>(_perExpert, _experts).Clear();
        for (int t = 0; t < _tokens; t++)
        {
            for (int j = 0; j < _tokenCount[t]; j++)
            {
                _perExpert[_slotExpert[(t * _perToken) + j]]++;
            }
        }
        int groups = 0;
        _groupRows[0] = 0;
        _groupStart[0] = 0;
        for (int e = 0; e < _experts; e++)
        {
            if (_perExpert[e] == 0)
            {
                continue;
            }
            _groupExpert[groups] = e;
            _groupRows[groups + 1] = _groupRows[groups] + _weights[e].Hidden;
            _groupStart[groups + 1] = _groupStart[groups] + _perExpert[e];
            // From here on, the next free place in the group's run of assignments.
            _perExpert[e] = _groupStart[groups];
            groups++;
        }
        for (int t = 0; t < _tokens; t++)
        {
            for (int j = 0; j < _tokenCount[t]; j++)
            {
                int slot = (t * _perToken) + j;
                _assigned[_perExpert[_slotExpert[slot]]++] = slot;
            }
        }
        return groups;
    }

    /// <summary>
    /// h = scale · silu(gate·x) ⊙ (up·x) over the rows of the step's experts numbered one after the other, each row pair
    /// applied to every token that chose its expert.
    /// </summary>
    private readonly struct GatedRows : IRangeJob
    {
        private readonly ExpertGroups _g;

        public GatedRows(ExpertGroups groups) => _g = groups;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            ExpertGroups g = _g;
            int group = 0;
            while (g._groupRows[group + 1] <= start)
            {
                group++;
            }
            for (int row = start; row < end; group++)
            {
                SwiGluWeights expert = g._weights[g._groupExpert[group]];
                int first = g._groupRows[group];
                int local = row - first, localEnd = Math.Min(end, g._groupRows[group + 1]) - first;
                int assignedStart = g._groupStart[group], assignedEnd = g._groupStart[group + 1];
                // Each gate and up row pair once for every token that chose this expert (two tokens at a time): rows outer,
                // so an expert's rows are read once per step however many tokens chose it (a prompt step's eight or so).
                int r = local;
                for (; r <= localEnd - 2; r += 2)
                {
                    int a = assignedStart;
                    for (; a <= assignedEnd - 2; a += 2)
                    {
                        Assignment p = g._assignments[a], q = g._assignments[a + 1];
                        expert.Gate.Dot4Pair(r, r + 1, expert.Up, r, r + 1, p.X, q.X, RowDot.NextRowsFor((a - assignedStart) / 2, (assignedEnd - assignedStart) / 2),
                            out float g0, out float g1, out float u0, out float u1, out float h0, out float h1, out float v0, out float v1);
                        p.Store(r, g0, g1, u0, u1);
                        q.Store(r, h0, h1, v0, v1);
                    }
                    if (a < assignedEnd)
                    {
                        Assignment p = g._assignments[a];
                        expert.Gate.Dot4(r, r + 1, expert.Up, r, r + 1, p.X, out float g0, out float g1, out float u0, out float u1);
                        p.Store(r, g0, g1, u0, u1);
                    }
                }
                if (r < localEnd)
                {
                    for (int a = assignedStart; a < assignedEnd; a++)
                    {
                        g._assignments[a].StoreOne(r, expert);
                    }
                }
                row = first + localEnd;
            }
        }

    }

    private static float Silu(float v) => v / (1f + MathF.Exp(-v));

    private Assignment Assigned(int index)
    {
        int slot = _assigned[index];
        int token = slot / _perToken;
        float* h = _hidden + ((nint)token * _maxHidden) + _slotOffset[(token * (_perToken + 1)) + (slot - (token * _perToken))];
        return new Assignment(_gateInputs[token], h, _slotScale[slot]);
    }

    /// <summary>One token's use of an expert: its input, where its activations go, and its weight.</summary>
    private readonly struct Assignment(RowInput x, float* h, float scale)
    {
        public RowInput X => x;

        public void Store(int r, float g0, float g1, float u0, float u1)
        {
            h[r] = scale * Silu(g0) * u0;
            h[r + 1] = scale * Silu(g1) * u1;
        }

        public void StoreOne(int r, in SwiGluWeights expert) => h[r] = scale * Silu(expert.Gate.Dot(r, x)) * expert.Up.Dot(r, x);
    }

    /// <summary>y_t[r] += Σ_j down_j[r]·h_j over token t's experts in its own order, four output rows at a time.</summary>
    private readonly struct DownRows : IRangeJob
    {
        private readonly ExpertGroups _g;
        private readonly float** _y;

        public DownRows(ExpertGroups groups, float** y)
        {
            _g = groups;
            _y = y;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            ExpertGroups g = _g;
            int r = start;
            for (; r <= end - MatVec.RowBlock; r += MatVec.RowBlock)
            {
                for (int t = 0; t < g._tokens; t++)
                {
                    Block(g, t, r, _y[t]);
                }
            }
            for (; r < end; r++)
            {
                for (int t = 0; t < g._tokens; t++)
                {
                    float sum = 0;
                    for (int j = 0; j < g._tokenCount[t]; j++)
                    {
                        int slot = (t * g._perToken) + j;
                        sum += g._weights[g._slotExpert[slot]].Down.Dot(r, g._downInputs[slot]);
                    }
                    _y[t][r] += sum;
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Block(ExpertGroups g, int t, int r, float* y)
        {
            float y0 = 0, y1 = 0, y2 = 0, y3 = 0;
            int count = g._tokenCount[t];
            int first = t * g._perToken;
            if (WeightMatrix.CanAccumulateLanes)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int j = 0; j < count; j++)
                {
                    g._weights[g._slotExpert[first + j]].Down.Dot4Into(r, g._downInputs[first + j], ref a0, ref a1, ref a2, ref a3);
                }
                y0 = Vector512.Sum(a0);
                y1 = Vector512.Sum(a1);
                y2 = Vector512.Sum(a2);
                y3 = Vector512.Sum(a3);
            }
            else
            {
                for (int j = 0; j < count; j++)
                {
                    WeightMatrix down = g._weights[g._slotExpert[first + j]].Down;
                    down.Dot4(r, r + 1, down, r + 2, r + 3, g._downInputs[first + j], out float s0, out float s1, out float s2, out float s3);
                    y0 += s0;
                    y1 += s1;
                    y2 += s2;
                    y3 += s3;
                }
            }
            y[r] += y0;
            y[r + 1] += y1;
            y[r + 2] += y2;
            y[r + 3] += y3;
        }
    }
}
