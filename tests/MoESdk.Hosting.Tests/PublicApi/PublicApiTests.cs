using MoESdk.Hosting;

namespace MoESdk.Tests.PublicApi;

/// <summary>
/// Keeps MoESdk.Hosting's public surface deliberate: every public type and member is listed in
/// MoESdk.Hosting.PublicApi.txt, and a change to it must come with a change to that file.
/// </summary>
[Trait("Category", "Unit")]
public class HostingPublicApiTests
{
    [Fact]
    public void HostingSurfaceMatchesBaseline() =>
        PublicApiListing.MatchesBaseline(typeof(IMoEModelBuilder).Assembly, "MoESdk.Hosting.PublicApi.txt");
}
