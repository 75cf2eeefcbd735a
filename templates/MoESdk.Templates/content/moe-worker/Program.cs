using MoEWorker;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);

// Generated from the <MoEModel> item in MoEWorker.csproj: registers the converted model kjv-llama as IMoEModel and
// IChatClient, with its options from the configuration section MoE:Models:kjv-llama (appsettings.json). It is
// registered before the worker, so the model is loaded and warmed up before the worker starts.
builder.Services.AddKjvLlamaMoE();
builder.Services.AddOptions<CompletionOptions>()
    .Bind(builder.Configuration.GetSection(CompletionOptions.Section))
    .Validate(o => o.Prompts.Count > 0 && !o.Prompts.Any(string.IsNullOrWhiteSpace), "Set Completions:Prompts in appsettings.json to a list of non-empty prompts.")
    .Validate(o => o.MaxTokens >= 1, "Set Completions:MaxTokens in appsettings.json to 1 or more.")
    .ValidateOnStart();
builder.Services.AddHostedService<CompletionWorker>();

await builder.Build().RunAsync();
