using MoESdk.Cli;

return await MoECommandLine.Create().Parse(args).InvokeAsync();
