using MoESdk.Samples.WebApi;

await ChatApp.Build(args).RunAsync();

/// <summary>The entry point, visible to integration tests (WebApplicationFactory).</summary>
public partial class Program;
