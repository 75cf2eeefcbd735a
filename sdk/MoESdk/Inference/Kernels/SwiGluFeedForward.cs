using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// One token through a SwiGLU feed-forward block: y += scale · W_down (silu(W_gate x) ⊙ (W_up x)).
/// Accumulating lets the chosen experts of a Mixture-of-Experts layer add into one output with their own
/// weights; a dense FFN is the same call with scale 1 on a zeroed (or residual) output.
/// </summary>
internal static unsafe class SwiGluFeedForward
{
    /// <summary>Adds scale · FFN(x) to <paramref name="y"/>; <paramref name="hidden"/> is scratch of length M.</summary>
    public static void Accumulate(ComputePool pool, in SwiGluWeights weights, ReadOnlySpan<float> x,
        Span<float> hidden, float scale, Span<float> y)
    {
        MatVec.CheckShape(weights.Hidden, weights.Dim, x, hidden);
        MatVec.CheckShape(weights.Dim, weights.Hidden, hidden, y);
        float* pairedX = stackalloc float[RowInput.PairedLengthFor(weights.Gate)];
        float* pairedHidden = stackalloc float[RowInput.PairedLengthFor(weights.Down)];
        fixed (float* xp = x)
        fixed (float* hp = hidden)
        fixed (float* yp = y)
        {
            // Two dispatches: every output row of the down projection needs all of h.
            pool.Run(new GatedRows(weights.Gate, weights.Up, RowInput.For(weights.Gate, xp, pairedX), hp), weights.Hidden, MatVec.RowBlock / 2);
            pool.Run(new MatVec.WeightRows(weights.Down, RowInput.For(weights.Down, hp, pairedHidden), yp, scale, accumulate: true), weights.Dim, MatVec.RowBlock);
        }
    }

    /// <summary>h[r] = silu(gate[r]·x) · (up[r]·x), two rows of each per step so four rows stream at once.</summary>
    private readonly struct GatedRows : IRangeJob
    {
        private readonly WeightMatrix _gate;
        private readonly WeightMatrix _up;
        private readonly RowInput _x;
        private readonly float* _h;

        public GatedRows(WeightMatrix gate, WeightMatrix up, RowInput x, float* h)
        {
            _gate = gate;
            _up = up;
            _x = x;
            _h = h;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            RowInput input = _x;
            int r = start;
            for (; r <= end - 2; r += 2)
            {
                _gate.Dot4(r, r + 1, _up, r, r + 1, input, out float g0, out float g1, out float u0, out float u1);
                _h[r] = Silu(g0) * u0;
                _h[r + 1] = Silu(g1) * u1;
            }
            if (r < end)
            {
                _h[r] = Silu(_gate.Dot(r, input)) * _up.Dot(r, input);
            }
        }

        private static float Silu(float v) => v / (1f + MathF.Exp(-v));
    }
}
