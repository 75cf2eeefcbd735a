using MoESdk.Serving;

namespace MoESdk.Tests.Serving;

[Trait("Category", "Unit")]
public class StopSequenceFilterTests
{
    /// <summary>Feeds the pieces and returns what came out, piece by piece, and what the end flushed.</summary>
    private static (string[] Out, string Flushed, bool Stopped) Run(string[] stops, params string[] pieces)
    {
        var filter = new StopSequenceFilter(stops);
        string[] output = [.. pieces.Select(filter.Append)];
        return (output, filter.Stopped ? "" : filter.Flush(), filter.Stopped);
    }

    [Fact]
    public void AStopSequenceSplitAcrossPiecesIsHeldBackThenCut()
    {
        (string[] output, _, bool stopped) = Run(["\n\nUser:"], "Hello", " world\n", "\nUs", "er: more", "ignored");

        Assert.True(stopped);
        Assert.Equal(["Hello", " world", "", "", ""], output);
    }

    [Fact]
    public void HeldTextThatTurnsOutNotToBeAStopIsGivenOut()
    {
        (string[] output, string flushed, bool stopped) = Run(["END"], "the E", "ND", "x");
        Assert.True(stopped);
        Assert.Equal(["the ", "", ""], output);

        (output, flushed, stopped) = Run(["END"], "the E", "a", "rly EN");
        Assert.False(stopped);
        Assert.Equal(["the ", "Ea", "rly "], output);
        Assert.Equal("EN", flushed);
    }

    [Fact]
    public void TheEarliestOfSeveralStopSequencesWins()
    {
        (string[] output, _, bool stopped) = Run(["bb", "a"], "xxbba");

        Assert.True(stopped);
        Assert.Equal(["xx"], output);
    }
}
