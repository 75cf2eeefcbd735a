using static TorchSharp.torch;

namespace MoESdk.Conversion;

/// <summary>
/// Spherical k-means whose clusters all have exactly n / k members, as experts of one layer must have
/// equal widths. Each round scores every (point, centroid) pair by cosine similarity and assigns pairs
/// from the most similar down, skipping full clusters; centroids are then the normalized member means.
/// </summary>
internal static class BalancedKMeans
{
    private const int MaxRounds = 25;

    /// <param name="features">One row per point [n, d]; rows are normalized here.</param>
    /// <param name="clusters">Clusters wanted; must divide n.</param>
    /// <param name="seed">Chooses the initial centroids.</param>
    /// <returns>Each cluster's point indices, ascending.</returns>
    public static int[][] Cluster(Tensor features, int clusters, int seed)
    {
        int n = (int)features.shape[0];
        if (clusters < 1 || n % clusters != 0)
        {
            throw new ArgumentException($"{n} points do not divide into {clusters} equal clusters.");
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor points = nn.functional.normalize(features.to_type(ScalarType.Float32), dim: 1);
        var random = new Random(seed);
        long[] initial = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(clusters).Select(i => (long)i).ToArray();
        Tensor centroids = points.index_select(0, tensor(initial));
        int[] assignment = Enumerable.Repeat(-1, n).ToArray();
        for (int round = 0; round < MaxRounds; round++)
        {
            float[] similarity = points.matmul(centroids.t()).contiguous().data<float>().ToArray();
            int[] next = AssignWithCapacity(similarity, n, clusters, n / clusters);
            if (next.AsSpan().SequenceEqual(assignment))
            {
                break;
            }
            assignment = next;
            Tensor members = nn.functional.one_hot(tensor(assignment.Select(a => (long)a).ToArray()), clusters).to_type(ScalarType.Float32);
            centroids = nn.functional.normalize(members.t().matmul(points), dim: 1);
        }
        return Enumerable.Range(0, clusters)
            .Select(c => Enumerable.Range(0, n).Where(i => assignment[i] == c).ToArray())
            .ToArray();
    }

    private static int[] AssignWithCapacity(float[] similarity, int n, int clusters, int capacity)
    {
        int[] order = Enumerable.Range(0, similarity.Length).ToArray();
        // Most similar pairs first; the index breaks ties so the result does not depend on the sort.
        Array.Sort(order, (a, b) => similarity[b] != similarity[a] ? similarity[b].CompareTo(similarity[a]) : a.CompareTo(b));
        var assignment = Enumerable.Repeat(-1, n).ToArray();
        var filled = new int[clusters];
        int assigned = 0;
        foreach (int pair in order)
        {
            int point = pair / clusters, cluster = pair % clusters;
            if (assignment[point] >= 0 || filled[cluster] == capacity)
            {
                continue;
            }
            assignment[point] = cluster;
            filled[cluster]++;
            if (++assigned == n)
            {
                break;
            }
        }
        return assignment;
    }
}
