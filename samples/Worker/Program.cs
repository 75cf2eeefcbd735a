using MoESdk.Hosting;
using MoESdk.Samples.Worker;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.AddMoEModel("kjv-llama");
builder.Services.AddHostedService<CompletionWorker>();
await builder.Build().RunAsync();
