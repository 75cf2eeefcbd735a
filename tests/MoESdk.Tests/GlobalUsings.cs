global using Xunit;

// One test at a time: TorchSharp 0.107 can finalize a scalar it made for a libtorch call while the call still reads it,
// when another thread's allocations start a collection mid-call (see Modules/TorchScalars.cs). With one test thread,
// no collection can start while that thread is inside libtorch.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
