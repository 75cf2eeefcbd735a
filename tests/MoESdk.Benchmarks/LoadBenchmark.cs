using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MoESdk.Samples.WebApi;

/// <summary>
/// Load on the sample web API over real HTTP on 127.0.0.1: waves of concurrent chat completions against one
/// model, each wave a burst larger than the queue, so some requests are served and the rest refused with 503.
/// Reports requests/s, generated tokens/s, latency percentiles of served requests, refusals and memory after every
/// wave. With generations running at once (MaxConcurrentRequests), each with its own KV cache, decoded in shared steps
/// of up to MaxBatchSize sequences (batch 1: each on its own thread, as without batching).
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- load ARTIFACT [concurrent=50] [waves=5] [maxTokens=32] [queue=16] [running=1] [batch=8]
/// </summary>
internal static class LoadBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        string artifact = Path.GetFullPath(args[0]);
        int concurrent = args.Length > 1 ? int.Parse(args[1]) : 50;
        int waves = args.Length > 2 ? int.Parse(args[2]) : 5;
        int maxTokens = args.Length > 3 ? int.Parse(args[3]) : 32;
        int queue = args.Length > 4 ? int.Parse(args[4]) : 16;
        int running = args.Length > 5 ? int.Parse(args[5]) : 1;
        int batch = args.Length > 6 ? int.Parse(args[6]) : 8;

        WebApplication app = ChatApp.Build([
            "--urls", "http://127.0.0.1:0", "--environment", "Production", "--Logging:LogLevel:Default=Warning",
            $"--MoE:Models:{ChatApp.ModelName}:Path={artifact}", $"--MoE:Models:{ChatApp.ModelName}:QueueCapacity={queue}",
            $"--MoE:Models:{ChatApp.ModelName}:MaxConcurrentRequests={running}", $"--MoE:Models:{ChatApp.ModelName}:MaxBatchSize={batch}",
        ]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
        object Request() => new { model = ChatApp.ModelName, max_tokens = maxTokens, temperature = 0, messages = new[] { new { role = "user", content = "And God said" } } };
        (await client.PostAsJsonAsync("/v1/chat/completions", Request())).EnsureSuccessStatusCode();

        Console.WriteLine($"{concurrent} concurrent requests per wave, {waves} waves, max_tokens {maxTokens}, queue {queue} + {running} running, batches of up to {batch}");
        Console.WriteLine($"{"wave",4} {"served",7} {"refused",8} {"req/s",7} {"tok/s",7} {"p50 ms",8} {"p95 ms",8} {"max ms",8} {"managed MB",11} {"working set MB",15}");
        (long managed, long workingSet) = Memory();
        Console.WriteLine($"{"-",4} {"",7} {"",8} {"",7} {"",7} {"",8} {"",8} {"",8} {managed >> 20,11} {workingSet >> 20,15}");
        for (int wave = 1; wave <= waves; wave++)
        {
            var clock = Stopwatch.StartNew();
            (HttpStatusCode Status, double Milliseconds, int Tokens)[] results = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(async _ =>
            {
                var started = Stopwatch.StartNew();
                using HttpResponseMessage response = await client.PostAsJsonAsync("/v1/chat/completions", Request());
                string body = await response.Content.ReadAsStringAsync();
                int tokens = response.StatusCode == HttpStatusCode.OK
                    ? System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32()
                    : 0;
                return (response.StatusCode, started.Elapsed.TotalMilliseconds, tokens);
            }));
            double seconds = clock.Elapsed.TotalSeconds;
            double[] served = results.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Milliseconds).Order().ToArray();
            int refused = results.Count(r => r.Status == HttpStatusCode.ServiceUnavailable);
            int other = results.Length - served.Length - refused;
            (managed, workingSet) = Memory();
            Console.WriteLine($"{wave,4} {served.Length,7} {refused,8} {served.Length / seconds,7:F2} {results.Sum(r => r.Tokens) / seconds,7:F0} {Percentile(served, 0.5),8:F0} {Percentile(served, 0.95),8:F0} {served.LastOrDefault(),8:F0} {managed >> 20,11} {workingSet >> 20,15}"
                + (other > 0 ? $"  ({other} other statuses!)" : ""));
        }
        await app.StopAsync();
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[(int)Math.Ceiling(p * sorted.Length) - 1];

    private static (long Managed, long WorkingSet) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), process.WorkingSet64);
    }
}
