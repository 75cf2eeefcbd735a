using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using MoESdk.Samples.WebApi;

/// <summary>
/// Load on the sample web API over real HTTP on 127.0.0.1: waves of concurrent chat completions against one
/// model. Reports requests/s, generated tokens/s, latency percentiles of served requests, refusals and memory after every
/// wave. With generations running at once (MaxConcurrentRequests), each with its own KV cache, decoded in shared steps
/// of up to MaxBatchSize sequences (batch 1: each on its own thread, as without batching).
/// Several concurrency levels (`1,8`) alternate wave by wave in one server, so their ratio is fair on a shared machine
/// whose speed drifts; the summary gives each level's median tokens/s over its waves and its ratio to the first level.
/// `stream` requests server-sent events with a usage chunk (`stream_options.include_usage`), as chat clients stream.
///   dotnet run --project tests/MoESdk.Benchmarks -c Release -- load ARTIFACT [concurrent=50|1,8,...] [waves=5] [maxTokens=32] [queue=16] [running=1] [batch=8] [stream]
/// </summary>
internal static class LoadBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        string artifact = Path.GetFullPath(args[0]);
        int[] levels = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [50];
        int waves = args.Length > 2 ? int.Parse(args[2]) : 5;
        int maxTokens = args.Length > 3 ? int.Parse(args[3]) : 32;
        int queue = args.Length > 4 ? int.Parse(args[4]) : 16;
        int running = args.Length > 5 ? int.Parse(args[5]) : 1;
        int batch = args.Length > 6 ? int.Parse(args[6]) : 8;
        bool stream = args.Length > 7 && args[7] == "stream";

        WebApplication app = ChatApp.Build([
            "--urls", "http://127.0.0.1:0", "--environment", "Production", "--Logging:LogLevel:Default=Warning",
            $"--MoE:Models:{ChatApp.ModelName}:Path={artifact}", $"--MoE:Models:{ChatApp.ModelName}:QueueCapacity={queue}",
            $"--MoE:Models:{ChatApp.ModelName}:MaxConcurrentRequests={running}", $"--MoE:Models:{ChatApp.ModelName}:MaxBatchSize={batch}",
        ]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
        var completion = new Completion(client, maxTokens, stream);
        // Warms the model and the server's code paths up before anything is timed.
        foreach (int level in levels)
        {
            await Task.WhenAll(Enumerable.Range(0, level).Select(_ => completion.SendAsync()));
        }

        Console.WriteLine($"{string.Join(" / ", levels)} concurrent requests per wave, {waves} waves each, max_tokens {maxTokens}{(stream ? ", streamed" : "")}, queue {queue} + {running} running, batches of up to {batch}");
        Console.WriteLine($"{"wave",4} {"conc.",5} {"served",7} {"refused",8} {"req/s",7} {"tok/s",7} {"p50 ms",8} {"p95 ms",8} {"max ms",8} {"managed MB",11} {"working set MB",15}");
        (long managed, long workingSet) = Memory();
        Console.WriteLine($"{"-",4} {"",5} {"",7} {"",8} {"",7} {"",7} {"",8} {"",8} {"",8} {managed >> 20,11} {workingSet >> 20,15}");
        var throughput = levels.Distinct().ToDictionary(level => level, _ => new List<double>());
        var latency = levels.Distinct().ToDictionary(level => level, _ => new List<double>());
        for (int wave = 1; wave <= waves; wave++)
        {
            foreach (int concurrent in levels)
            {
                var clock = Stopwatch.StartNew();
                Result[] results = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(_ => completion.SendAsync()));
                double seconds = clock.Elapsed.TotalSeconds;
                double[] served = results.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Milliseconds).Order().ToArray();
                int refused = results.Count(r => r.Status == HttpStatusCode.ServiceUnavailable);
                int other = results.Length - served.Length - refused;
                double tokensPerSecond = results.Sum(r => r.Tokens) / seconds;
                throughput[concurrent].Add(tokensPerSecond);
                latency[concurrent].AddRange(served);
                (managed, workingSet) = Memory();
                Console.WriteLine($"{wave,4} {concurrent,5} {served.Length,7} {refused,8} {served.Length / seconds,7:F2} {tokensPerSecond,7:F0} {Percentile(served, 0.5),8:F0} {Percentile(served, 0.95),8:F0} {served.LastOrDefault(),8:F0} {managed >> 20,11} {workingSet >> 20,15}"
                    + (other > 0 ? $"  ({other} other statuses!)" : ""));
            }
        }
        if (levels.Length > 1)
        {
            double baseline = Median(throughput[levels[0]]);
            Console.WriteLine($"{"conc.",5} {"median tok/s",13} {"ratio",6} {"p50 ms",8} {"p95 ms",8}   (over {waves} alternated waves)");
            foreach (int level in levels.Distinct())
            {
                double[] served = latency[level].Order().ToArray();
                Console.WriteLine($"{level,5} {Median(throughput[level]),13:F0} {Median(throughput[level]) / baseline,6:F2} {Percentile(served, 0.5),8:F0} {Percentile(served, 0.95),8:F0}");
            }
        }
        await app.StopAsync();
    }

    private readonly record struct Result(HttpStatusCode Status, double Milliseconds, int Tokens);

    /// <summary>One chat completion of the benchmark's prompt, streamed or not; its tokens from the usage the server reports.</summary>
    private sealed class Completion(HttpClient client, int maxTokens, bool stream)
    {
        public async Task<Result> SendAsync()
        {
            var started = Stopwatch.StartNew();
            object request = stream
                ? new { model = ChatApp.ModelName, max_tokens = maxTokens, temperature = 0, stream = true, stream_options = new { include_usage = true }, messages = Messages }
                : new { model = ChatApp.ModelName, max_tokens = maxTokens, temperature = 0, messages = Messages };
            using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(request) };
            using HttpResponseMessage response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return new Result(response.StatusCode, started.Elapsed.TotalMilliseconds, 0);
            }
            int tokens = stream ? await StreamedTokensAsync(response) : CompletionTokens(await response.Content.ReadAsStringAsync());
            return new Result(response.StatusCode, started.Elapsed.TotalMilliseconds, tokens);
        }

        private static readonly object[] Messages = [new { role = "user", content = "And God said" }];

        // Every event is read as a client reads it; the usage chunk, the last before [DONE], counts the tokens.
        private static async Task<int> StreamedTokensAsync(HttpResponseMessage response)
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            int tokens = 0;
            while (await reader.ReadLineAsync() is string line)
            {
                if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"usage\":{", StringComparison.Ordinal))
                {
                    tokens = CompletionTokens(line["data: ".Length..]);
                }
            }
            return tokens;
        }

        private static int CompletionTokens(string json)
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return document.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        }
    }

    private static double Median(List<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
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
