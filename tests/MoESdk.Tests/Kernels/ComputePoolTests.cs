using MoESdk.Inference.Kernels;

namespace MoESdk.Tests.Kernels;

[Trait("Category", "Unit")]
public unsafe class ComputePoolTests
{
    private readonly struct CountVisits(int* visits, int grain) : IRangeJob
    {
        public void Execute(int start, int end)
        {
            Assert.True(start % grain == 0, $"range starts at {start}, not a multiple of {grain}");
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref visits[i]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1000, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 7, 4)]
    [InlineData(2, 771, 4)]
    [InlineData(3, 32000, 4)]
    [InlineData(4, 13, 1)]
    public void EveryItemRunsExactlyOnce(int parallelism, int count, int grain)
    {
        using var pool = new ComputePool(parallelism);
        int[] visits = new int[count];
        fixed (int* v = visits)
        {
            for (int repeat = 0; repeat < 200; repeat++)
            {
                pool.Run(new CountVisits(v, grain), count, grain);
            }
        }
        Assert.All(visits, n => Assert.Equal(200, n));
    }

    [Fact]
    public void ConcurrentSubmittersEachGetTheirJobDone()
    {
        using var pool = new ComputePool(2);
        const int count = 517;
        int[][] visits = [new int[count], new int[count], new int[count]];
        Parallel.For(0, visits.Length, t =>
        {
            fixed (int* v = visits[t])
            {
                for (int repeat = 0; repeat < 300; repeat++)
                {
                    pool.Run(new CountVisits(v, 1), count);
                }
            }
        });
        Assert.All(visits, array => Assert.All(array, n => Assert.Equal(300, n)));
    }

    [Fact]
    public void WorkersWakeAfterSleeping()
    {
        using var pool = new ComputePool(2);
        int[] visits = new int[64];
        fixed (int* v = visits)
        {
            pool.Run(new CountVisits(v, 1), visits.Length);
            Thread.Sleep(50);
            pool.Run(new CountVisits(v, 1), visits.Length);
        }
        Assert.All(visits, n => Assert.Equal(2, n));
    }

    [Fact]
    public void DisposedPoolRefusesWork()
    {
        var pool = new ComputePool(2);
        pool.Dispose();
        pool.Dispose();
        int[] visits = new int[10];
        fixed (int* v = visits)
        {
            var job = new CountVisits(v, 1);
            Assert.Throws<ObjectDisposedException>(() => pool.Run(job, visits.Length));
        }
    }
}
