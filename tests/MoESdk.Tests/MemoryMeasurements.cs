namespace MoESdk.Tests;

/// <summary>
/// Tests that measure the process's memory run in this collection, which xunit runs after the parallel ones
/// and alone: other tests loading models at the same time would otherwise show up in the measurement.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "Memory measurements";
}
