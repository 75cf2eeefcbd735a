using System.Runtime.CompilerServices;

namespace MoESdk.Inference.Kernels;

/// <summary>
/// The rows of three row jobs numbered one after the other (q, k and v, say), so that one pool dispatch covers all three
/// and a worker's range may span the boundary between two of them. Generic over the job so each use stays a direct call.
/// </summary>
internal readonly struct ConsecutiveRows<TJob> : IRangeJob where TJob : struct, IRangeJob
{
    private readonly TJob _first;
    private readonly TJob _second;
    private readonly TJob _third;
    private readonly int _secondStart;
    private readonly int _thirdStart;

    public ConsecutiveRows(TJob first, int firstRows, TJob second, int secondRows, TJob third)
    {
        _first = first;
        _second = second;
        _third = third;
        _secondStart = firstRows;
        _thirdStart = firstRows + secondRows;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int start, int end)
    {
        if (start < _secondStart)
        {
            _first.Execute(start, Math.Min(end, _secondStart));
        }
        if (start < _thirdStart && end > _secondStart)
        {
            _second.Execute(Math.Max(start, _secondStart) - _secondStart, Math.Min(end, _thirdStart) - _secondStart);
        }
        if (end > _thirdStart)
        {
            _third.Execute(Math.Max(start, _thirdStart) - _thirdStart, end - _thirdStart);
        }
    }
}
