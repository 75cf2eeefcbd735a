namespace MoESdk.Tests.PublicApi;

/// <summary>
/// Keeps the library's public surface deliberate: every public type and member of MoESdk is listed in
/// MoESdk.PublicApi.txt, and a change to it must come with a change to that file.
/// </summary>
[Trait("Category", "Unit")]
public class PublicApiTests
{
    [Fact]
    public void MoESdkSurfaceMatchesBaseline() =>
        PublicApiListing.MatchesBaseline(typeof(LanguageModel).Assembly, "MoESdk.PublicApi.txt");

    [Fact]
    public void ListingNamesPublicTypesAndLeavesInternalOnesOut()
    {
        var listing = PublicApiListing.Of(typeof(LanguageModel).Assembly);

        Assert.Contains("class MoESdk.LanguageModel", listing);
        Assert.DoesNotContain(listing, line => line.Contains("MoESdk.Inference.Kernels.", StringComparison.Ordinal));
    }
}
